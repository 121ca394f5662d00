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
- ``black_litterman``: the TopkDropout selection weighted by skfolio's ``MeanRisk``
  (maximum Sharpe, long-only) on a ``BlackLitterman`` prior whose views are the
  calibrated forecasts (engine.trading.risk_construction); equal weight without views.
- ``factor_neutral``: long_short's book moved the least (least squares) to be neutral to
  ``neutral_to``: ``dollar`` (long_short itself), ``beta`` (the risk model's beta style),
  ``sector`` (each sector's net weight; the sizing sectors) or ``factors`` (every factor
  of the risk model), within ``neutral_tolerance``; dollar-neutral without the risk
  model it needs, named in ``binding``.

``covariance_source`` picks the covariance of hrp, mean_risk, black_litterman and of the
volatility target: ``sample`` (skfolio's empirical covariance; the caps' one assumed
correlation), ``ledoit_wolf`` (scikit-learn's Ledoit-Wolf on the trailing returns) or
``factor`` (the characteristic risk model ``B F B' + D`` of ``RiskInputs``, as of the
decision date; sample, named, without one).

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
from engine.trading.neutral import NEUTRAL_TO, dollar_neutral, neutral_book, neutral_exposures
from engine.trading.risk_construction import (
    COVARIANCE_SOURCES,
    MIN_RISK_SESSIONS,
    RiskInputs,
    decision_covariance,
    forecast_views,
    risk_weights,
)
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
    "topk_dropout",
]

CONSTRUCTION_METHODS = (
    "kelly",
    "top_k",
    "long_short",
    "hrp",
    "mean_risk",
    "black_litterman",
    "factor_neutral",
)
SKFOLIO_METHODS = ("hrp", "mean_risk", "black_litterman")  # TopkDropout weighted by skfolio
CONSTRUCTION_LIMITS = {
    "k": Limit(1, 1000, whole=True),
    "max_replacements": Limit(0, 1000, whole=True),
    "quantile": Limit(0, 0.5, open_low=True),
    "lookback": Limit(MIN_RISK_SESSIONS, 2520, whole=True),
    "rebalance": Limit(1, 252, whole=True),
    "neutral_tolerance": Limit(0, 10),
}


@dataclass(frozen=True)
class ConstructionParams:
    """How forecasts become target weights.

    Parameters
    ----------
    method : one of ``CONSTRUCTION_METHODS``.
    k : names held by top_k, hrp, mean_risk and black_litterman.
    max_replacements : held names sold at most per rebalance (Qlib's ``n_drop``).
    quantile : share of the ranked names on each side of long_short and factor_neutral,
        in (0, 0.5].
    lookback : sessions of daily returns (rows <= t) that the skfolio methods and the
        Ledoit-Wolf covariance fit on.
    rebalance : decide every this many sessions (1 = every forecast; Kelly's default).
    covariance_source : one of ``COVARIANCE_SOURCES``: ``sample``, ``ledoit_wolf`` or
        ``factor`` (the risk model; needs ``RiskInputs``), for the skfolio methods and
        the volatility target.
    neutral_to : one of ``NEUTRAL_TO`` (factor_neutral): ``dollar``, ``beta``, ``sector``
        or ``factors``.
    neutral_tolerance : largest net exposure per neutralized factor, in exposure units
        (weight x standardized exposure; a sector's net weight), 0 = exact; the dollar
        neutrality is always exact.
    """

    method: str = "kelly"
    k: int = 5
    max_replacements: int = 2
    quantile: float = 0.2
    lookback: int = 120
    rebalance: int = 5
    covariance_source: str = "sample"
    neutral_to: str = "dollar"
    neutral_tolerance: float = 0.0

    def __post_init__(self) -> None:
        what = "construction parameters"
        for name, allowed in [
            ("method", CONSTRUCTION_METHODS),
            ("covariance_source", COVARIANCE_SOURCES),
            ("neutral_to", NEUTRAL_TO),
        ]:
            if getattr(self, name) not in allowed:
                raise ValueError(f"{what}: {name} must be one of {', '.join(allowed)}")
        check_limits(self, CONSTRUCTION_LIMITS, what)
        if self.max_replacements > self.k:
            raise ValueError(f"{what}: max_replacements ({self.max_replacements}) must be <= k")

    @property
    def cross_sectional(self) -> bool:
        return self.method != "kelly"

    @property
    def needs_risk_model(self) -> bool:
        """Whether ``construct_row`` reads ``RiskInputs`` (a caller may skip building
        them otherwise)."""
        neutral = self.method == "factor_neutral" and self.neutral_to in ("beta", "factors")
        return self.covariance_source == "factor" or neutral

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
    risk: RiskInputs | None = None,
    view_scale: float = np.nan,
) -> pd.DataFrame:
    """Target weights at the close of row ``i``: the backtest's and the paper step's one
    decision.

    Parameters
    ----------
    panel : WidePanel, shape (T, N); only rows <= ``i`` are read.
    scores : ndarray of shape (N,) or None
        Cross-sectional scores (NaN: none); None ranks by ``p``.
    p : ndarray of shape (N,)
        Calibrated probabilities (Kelly sizes on them as P(up); black_litterman's views).
    held_weights : ndarray of shape (N,)
        Weights held before this decision (NaN or 0: not held); TopkDropout's count.
    inputs : ATR and volatility from ``sizing_inputs`` (rows <= t each).
    ratio : win/loss ratio of the run's training outcomes (Kelly).
    risk : RiskInputs, optional
        The risk model as of each date (``covariance_source="factor"``; factor_neutral
        to ``beta`` or ``factors``); only its model as of row ``i``'s date is read.
    view_scale : float
        The run's mean absolute outcome return per session
        (``engine.trading.risk_construction.view_scale``): the size of black_litterman's
        views; NaN: no views.

    Returns
    -------
    DataFrame indexed by the tickers with a known signal (``p`` for Kelly, the ranking
    score otherwise), columns ``SIZING_COLUMNS``; ``weight`` is signed, a fraction of
    equity; the cross-sectional methods set no stop, take-profit or trailing stop.
    """
    if params.method == "kelly":
        covariance, _ = decision_covariance(panel, i, np.isfinite(p), params, risk)
        return size_row(
            panel, i, p, regime_id=regime_id, ratio=ratio, sizing=sizing, inputs=inputs,
            covariance=covariance,
        )  # fmt: skip
    book = decision_book(panel, i, p, regime_id=regime_id, inputs=inputs)
    ranking = np.asarray(p if scores is None else scores, dtype=float)
    known = np.isfinite(ranking)
    tradable = np.where(known & np.isfinite(panel.close[i]), ranking, np.nan)
    raw = np.zeros(len(ranking))
    binding: list[list[str]] = [[] for _ in range(len(ranking))]
    two_sided = params.method in ("long_short", "factor_neutral")
    if two_sided:
        side = _long_short_sides(tradable, params.quantile)
        per_side = max(int((side > 0).sum()), 1)
        raw = np.where(side != 0, sizing.gross_limit / 2.0 / per_side, 0.0)
        names = np.isfinite(tradable) if params.method == "factor_neutral" else side != 0
    else:
        held = np.nan_to_num(np.asarray(held_weights, dtype=float)) != 0
        names = topk_dropout(tradable, held, k=params.k, n_drop=params.max_replacements)
        side = names.astype(float)
    covariance, note = decision_covariance(panel, i, names, params, risk)
    if params.method == "top_k":
        raw[names] = 1.0 / params.k
    elif params.method in SKFOLIO_METHODS:
        views = forecast_views(p, view_scale) if params.method == "black_litterman" else None
        raw[names], reason = risk_weights(
            panel, i, names, params, covariance=covariance, views=views
        )
        for j in np.flatnonzero(names) if reason else ():
            binding[j].append(reason)
    elif params.method == "factor_neutral" and params.neutral_to != "dollar":
        exposures, why = neutral_exposures(params.neutral_to, book, risk, panel.dates[i])
        if exposures is None:
            for j in np.flatnonzero(side):
                binding[j].append(f"dollar neutral only ({why})")
        else:
            signed, binding = neutral_book(
                raw * side, exposures, book, sizing, tolerance=params.neutral_tolerance,
                label=f"neutral to {params.neutral_to}",
            )  # fmt: skip
            side, raw, two_sided = np.sign(signed), np.abs(signed), False
    for j in np.flatnonzero(raw > 0) if note else ():
        binding[j].append(note)
    weight, binding = apply_caps(raw, book, sizing, binding, side=side, covariance=covariance)
    if two_sided:
        weight = dollar_neutral(weight, side, binding)
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


def constructed_weight_arrays(
    panel: WidePanel,
    predictions: pd.DataFrame,
    ratio: float,
    sizing: SizingParams,
    construction: ConstructionParams,
    *,
    risk: RiskInputs | None = None,
    view_scale: float = np.nan,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Target weights, stops, take-profits and trailing flags (T x N, NaN = no decision)
    for a backtest, from ``predictions`` (``p``, ``regime_id`` and, when the run has one,
    ``score`` by (ticker, date)); every decision through ``construct_row`` (with ``risk``
    and ``view_scale``) with rows <= its date only. A row is decided on a rebalance
    session, or when the previous targets hold nothing; the names held before a decision
    are the previous decision's targets."""
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
            risk=risk,
            view_scale=view_scale,
        )
        at = columns.get_indexer(sized.index)
        weights[i] = 0.0
        weights[i, at] = sized["weight"].to_numpy()
        stops[i, at] = sized["stop"].to_numpy()
        targets[i, at] = sized["take_profit"].to_numpy()
        trailing[i, at] = sized["trailing"].to_numpy(dtype=bool)
        held = weights[i].copy()
    return weights, stops, targets, trailing
