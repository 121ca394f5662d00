"""Portfolio construction: each decision date's forecasts -> target weights, by one rule
that the backtest and the paper step share (``construct_row``).

Methods (``CONSTRUCTION_METHODS``):

- ``kelly``: fractional Kelly on the calibrated P(up) with ATR stops and take-profits
  (``engine.trading.sizing.size_row``, unchanged).
- ``top_k``: Qlib's TopkDropout: hold ``k`` names; at each rebalance sell at most
  ``max_replacements`` held names that rank among the worst and buy the best-ranked names
  not held to refill to ``k``; 1/k each.
- ``long_short``: long the top ``quantile`` by score, short the bottom one, equal weight
  per side, dollar-neutral, gross ``SizingParams.gross_limit``.
- ``hrp`` / ``mean_risk``: the TopkDropout selection weighted by skfolio's
  ``HierarchicalRiskParity`` / ``MeanRisk`` (minimum variance, long-only) fitted on the
  trailing ``lookback`` daily returns of the selected names (rows <= t only); equal
  weight, named in ``binding``, when the history is too short or the optimizer fails.

Every method ends with the same caps (``engine.trading.sizing.apply_caps``: per ticker,
sector by regime, volatility target, gross limit), each binding cap named.

The cross-sectional methods rank by ``score`` (higher = expected to beat the other
stocks that day) and fall back to ``p`` where a run has no score. They exit by rebalance
only: no stops or take-profits (an ATR stop on one leg of a ranked book would trade a
name the ranking still holds, and re-entry blocks after an exit would break the
TopkDropout count). A decision is made on a rebalance session (every ``rebalance``-th
NYSE session, counted from the calendar's first session, so the backtest and the paper
step agree on the days) or whenever nothing is held.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from engine.data.calendar import nyse_calendar
from engine.features.panel import WidePanel
from engine.modeling.param_limits import Limit, check_limits
from engine.trading.sizing import (
    SizingParams,
    apply_caps,
    decision_book,
    size_row,
    sizing_inputs,
)

__all__ = [
    "CONSTRUCTION_LIMITS",
    "CONSTRUCTION_METHODS",
    "KELLY",
    "ConstructionParams",
    "construct_row",
    "constructed_weight_arrays",
    "default_construction",
    "rebalance_due",
    "risk_weights",
    "topk_dropout",
]

CONSTRUCTION_METHODS = ("kelly", "top_k", "long_short", "hrp", "mean_risk")
MIN_RISK_SESSIONS = 20  # complete daily returns below which hrp / mean_risk weigh equally
CONSTRUCTION_LIMITS = {
    "k": Limit(1, 1000, whole=True),
    "max_replacements": Limit(0, 1000, whole=True),
    "quantile": Limit(0, 0.5, open_low=True),
    "lookback": Limit(MIN_RISK_SESSIONS, 2520, whole=True),
    "rebalance": Limit(1, 252, whole=True),
}


@dataclass(frozen=True)
class ConstructionParams:
    """How forecasts become target weights.

    Parameters
    ----------
    method : one of ``CONSTRUCTION_METHODS``.
    k : names held by top_k, hrp and mean_risk.
    max_replacements : held names sold at most per rebalance (Qlib's ``n_drop``).
    quantile : share of the ranked names on each side of long_short, in (0, 0.5].
    lookback : sessions of daily returns (rows <= t) that hrp / mean_risk fit on.
    rebalance : decide every this many sessions (1 = every forecast; Kelly's default).
    """

    method: str = "kelly"
    k: int = 5
    max_replacements: int = 2
    quantile: float = 0.2
    lookback: int = 120
    rebalance: int = 5

    def __post_init__(self) -> None:
        what = "construction parameters"
        if self.method not in CONSTRUCTION_METHODS:
            raise ValueError(f"{what}: method must be one of {', '.join(CONSTRUCTION_METHODS)}")
        check_limits(self, CONSTRUCTION_LIMITS, what)
        if self.max_replacements > self.k:
            raise ValueError(f"{what}: max_replacements ({self.max_replacements}) must be <= k")

    @property
    def cross_sectional(self) -> bool:
        return self.method != "kelly"

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ConstructionParams:
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown construction parameters: {', '.join(sorted(unknown))}")
        return cls(**values)


KELLY = ConstructionParams(method="kelly", rebalance=1)  # today's sizing, every forecast


def default_construction(kind: str) -> ConstructionParams:
    """Kelly for the ``market_timing`` model (a calibrated P(up)), top_k for a model that
    ranks the stocks against each other."""
    return KELLY if kind == "market_timing" else ConstructionParams(method="top_k")


def rebalance_due(dates: pd.DatetimeIndex, every: int) -> np.ndarray:
    """Which ``dates`` are rebalance sessions: every ``every``-th NYSE session counted
    from the calendar's first one (the same days whichever date a run starts on)."""
    number = nyse_calendar().sessions.searchsorted(pd.DatetimeIndex(dates))
    return np.asarray(number % every == 0)


def topk_dropout(scores: np.ndarray, held: np.ndarray, *, k: int, n_drop: int) -> np.ndarray:
    """Qlib's TopkDropout selection (``method_sell="bottom"``, ``method_buy="top"``).

    Parameters
    ----------
    scores : ndarray of shape (N,)
        Today's scores, higher is better; NaN = not eligible (a held name without a
        score is left out: the caller closes it).
    held : ndarray of bool, shape (N,)
        Names held before the rebalance.

    Returns
    -------
    ndarray of bool, shape (N,): the names to hold. Of the held names, those among the
    ``n_drop`` worst of (held + the best ``n_drop + k - held`` candidates) are sold; the
    best candidates refill to ``k``. At most ``n_drop`` held names are sold.
    """
    scores = np.asarray(scores, dtype=float)
    eligible = np.isfinite(scores)
    order = np.argsort(-np.where(eligible, scores, -np.inf), kind="stable")
    order = order[eligible[order]]  # best first
    rank = np.empty(len(scores), dtype=int)
    rank[order] = np.arange(len(order))
    last = [j for j in order if held[j]]
    candidates = [j for j in order if not held[j]][: max(0, n_drop + k - len(last))]
    combined = sorted(last + candidates, key=lambda j: rank[j])
    worst = set(combined[len(combined) - n_drop :]) if n_drop > 0 else set()
    sell = [j for j in last if j in worst]
    buy = candidates[: max(0, len(sell) + k - len(last))]
    selected = np.zeros(len(scores), dtype=bool)
    selected[[j for j in last if j not in worst] + buy] = True
    return selected


def _long_short_sides(scores: np.ndarray, quantile: float) -> np.ndarray:
    """+1 for the top ``quantile`` of the finite scores, -1 for the bottom, 0 otherwise
    (at least one name a side when two or more are ranked)."""
    side = np.zeros(len(scores))
    finite = np.flatnonzero(np.isfinite(scores))
    per_side = min(max(1, int(np.floor(quantile * len(finite)))), len(finite) // 2)
    if per_side == 0:
        return side
    order = finite[np.argsort(-scores[finite], kind="stable")]
    side[order[:per_side]] = 1.0
    side[order[len(order) - per_side :]] = -1.0
    return side


def risk_weights(panel: WidePanel, i: int, chosen: np.ndarray, params: ConstructionParams):
    """skfolio weights (summing to 1) of the ``chosen`` columns fitted on their daily
    returns over the ``params.lookback`` sessions up to row ``i`` (rows <= i only; a row
    where any chosen name lacks a return is left out).

    Returns
    -------
    ndarray of shape (len(chosen),) and the fallback's reason ("" when fitted).
    """
    columns = np.flatnonzero(chosen)
    equal = np.full(len(columns), 1.0 / max(len(columns), 1))
    if len(columns) < 2:
        return equal, ""
    close = panel.close[max(0, i - params.lookback) : i + 1, columns]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = close[1:] / close[:-1] - 1.0
    returns = returns[np.isfinite(returns).all(axis=1)]
    needed = max(MIN_RISK_SESSIONS, len(columns) + 1)
    if len(returns) < needed:
        return equal, f"equal weight ({len(returns)} sessions of history < {needed})"
    from skfolio.exceptions import SkfolioError  # noqa: PLC0415 - slow to import
    from skfolio.optimization import HierarchicalRiskParity, MeanRisk  # noqa: PLC0415

    model = HierarchicalRiskParity() if params.method == "hrp" else MeanRisk()
    try:
        model.fit(pd.DataFrame(returns, columns=[str(c) for c in columns]))
        weights = np.asarray(model.weights_, dtype=float)
    except (SkfolioError, ValueError, ArithmeticError, RuntimeError) as exc:
        return equal, f"equal weight ({params.method} failed: {type(exc).__name__})"
    weights = np.clip(weights, 0.0, None)
    if not np.isfinite(weights).all() or weights.sum() <= 0:
        return equal, f"equal weight ({params.method} gave no usable weights)"
    return weights / weights.sum(), ""


def construct_row(
    panel: WidePanel,
    i: int,
    scores: np.ndarray | None,
    p: np.ndarray,
    held_weights: np.ndarray,
    *,
    params: ConstructionParams,
    sizing: SizingParams,
    regime_id: float | np.ndarray,
    inputs: tuple[np.ndarray, np.ndarray],
    ratio: float,
) -> pd.DataFrame:
    """Target weights at the close of row ``i``: the backtest's and the paper step's one
    decision.

    Parameters
    ----------
    panel : WidePanel, shape (T, N); only rows <= ``i`` are read.
    scores : ndarray of shape (N,) or None
        Cross-sectional scores (NaN: none); None ranks by ``p``.
    p : ndarray of shape (N,)
        Calibrated probabilities (Kelly sizes on them as P(up)).
    held_weights : ndarray of shape (N,)
        Weights held before this decision (NaN or 0: not held); TopkDropout's count.
    inputs : ATR and volatility from ``sizing_inputs`` (rows <= t each).
    ratio : win/loss ratio of the run's training outcomes (Kelly).

    Returns
    -------
    DataFrame indexed by the tickers with a known signal (``p`` for Kelly, the ranking
    score otherwise), columns ``SIZING_COLUMNS``; ``weight`` is signed, a fraction of
    equity; the cross-sectional methods set no stop, take-profit or trailing stop.
    """
    if params.method == "kelly":
        return size_row(panel, i, p, regime_id=regime_id, ratio=ratio, sizing=sizing, inputs=inputs)
    book = decision_book(panel, i, p, regime_id=regime_id, inputs=inputs)
    ranking = np.asarray(p if scores is None else scores, dtype=float)
    known = np.isfinite(ranking)
    tradable = np.where(known & np.isfinite(panel.close[i]), ranking, np.nan)
    raw = np.zeros(len(ranking))
    binding: list[list[str]] = [[] for _ in range(len(ranking))]
    if params.method == "long_short":
        side = _long_short_sides(tradable, params.quantile)
        per_side = max(int((side > 0).sum()), 1)
        raw = np.where(side != 0, sizing.gross_limit / 2.0 / per_side, 0.0)
    else:
        held = np.nan_to_num(np.asarray(held_weights, dtype=float)) != 0
        chosen = topk_dropout(tradable, held, k=params.k, n_drop=params.max_replacements)
        side = chosen.astype(float)
        if params.method == "top_k":
            raw[chosen] = 1.0 / params.k
        else:
            raw[chosen], reason = risk_weights(panel, i, chosen, params)
            for j in np.flatnonzero(chosen) if reason else ():
                binding[j].append(reason)
    weight, binding = apply_caps(raw, book, sizing, binding)
    if params.method == "long_short":
        weight = _dollar_neutral(weight, side, binding)
    price = book["price"].to_numpy(dtype=float)
    shares = np.where(price > 0, np.floor(weight / price + 1e-9), 0.0) * side  # equity 1
    frame = pd.DataFrame(
        {
            "side": side,
            "kelly": np.nan,
            "weight": weight * side,
            "shares": np.nan_to_num(shares),
            "stop": np.nan,
            "take_profit": np.nan,
            "trailing": False,
            "binding": [", ".join(reasons) for reasons in binding],
        },
        index=book.index,
    )
    return frame[known]


def _dollar_neutral(weight: np.ndarray, side: np.ndarray, binding: list[list[str]]):
    """Scale the larger side down to the smaller (a cap may bind on one side only)."""
    longs, shorts = weight[side > 0].sum(), weight[side < 0].sum()
    if np.isclose(longs, shorts, rtol=1e-12, atol=1e-15):
        return weight
    larger = side > 0 if longs > shorts else side < 0
    weight = weight.copy()
    weight[larger] *= min(longs, shorts) / max(longs, shorts)
    for j in np.flatnonzero(larger & (weight > 0)):
        binding[j].append("dollar neutral")
    return weight


def constructed_weight_arrays(
    panel: WidePanel,
    predictions: pd.DataFrame,
    ratio: float,
    sizing: SizingParams,
    construction: ConstructionParams,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Target weights, stops, take-profits and trailing flags (T x N, NaN = no decision)
    for a backtest, from ``predictions`` (``p``, ``regime_id`` and, when the run has one,
    ``score`` by (ticker, date)); every decision through ``construct_row`` with rows <= its
    date only. A row is decided on a rebalance session, or when the previous targets hold
    nothing; the names held before a decision are the previous decision's targets."""
    shape = panel.close.shape
    weights, stops, targets = (np.full(shape, np.nan) for _ in range(3))
    trailing = np.zeros(shape, dtype=bool)

    def wide(column: str) -> pd.DataFrame:
        table = predictions[column].unstack("ticker")
        return table.reindex(index=panel.dates, columns=list(panel.tickers))

    p = wide("p")
    score = wide("score") if "score" in predictions.columns else None
    regime = predictions["regime_id"].groupby(level="date").first().reindex(panel.dates)
    signal = p if score is None or not construction.cross_sectional else score
    decided = np.flatnonzero(signal.notna().any(axis=1).to_numpy())
    inputs = sizing_inputs(panel, sizing.vol_model, decided)
    due = rebalance_due(panel.dates, construction.rebalance)
    held = np.zeros(shape[1])
    columns = pd.Index(panel.tickers)
    for i in decided:
        if not due[i] and held.any():
            continue
        sized = construct_row(
            panel,
            i,
            None if score is None else score.iloc[i].to_numpy(),
            p.iloc[i].to_numpy(),
            held,
            params=construction,
            sizing=sizing,
            regime_id=regime.iloc[i],
            inputs=inputs,
            ratio=ratio,
        )
        at = columns.get_indexer(sized.index)
        weights[i] = 0.0
        weights[i, at] = sized["weight"].to_numpy()
        stops[i, at] = sized["stop"].to_numpy()
        targets[i, at] = sized["take_profit"].to_numpy()
        trailing[i, at] = sized["trailing"].to_numpy(dtype=bool)
        held = weights[i].copy()
    return weights, stops, targets, trailing
