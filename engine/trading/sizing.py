"""Position sizing: fractional Kelly from calibrated P(up), volatility targeting, caps,
ATR stops by regime and take-profits at a reward:risk multiple.

Every cap that binds is named in ``binding`` so the analyst sees why a weight is what it
is. Inputs are one row per ticker at the decision date (data <= that date only).

The volatility target prices the book with a covariance of its names where the caller
gives one (``BookCovariance``: the factor risk model's, or Ledoit-Wolf on trailing
returns; engine.trading.risk_construction), and otherwise with one assumed pairwise
correlation (``SizingParams.assumed_correlation``); the binding text says which.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.universe import sector_of
from engine.features.panel import WidePanel, atr_or_proxy
from engine.features.regime import is_bull
from engine.metrics import TRADING_DAYS
from engine.modeling.param_limits import Limit, check_limits

SIZING_COLUMNS = (
    "side",
    "kelly",
    "weight",
    "shares",
    "stop",
    "take_profit",
    "trailing",
    "binding",
)

_SLACK = 1e-12  # a sum over a limit by float rounding only does not bind it

SIZING_LIMITS = {
    "kelly_fraction": Limit(0, 1, open_low=True),
    "max_weight": Limit(0, 1, open_low=True),
    "gross_limit": Limit(0, 2, open_low=True),
    "target_vol": Limit(0, 100, open_low=True),
    "reward_risk": Limit(2.0, 2.5),
}


@dataclass(frozen=True)
class SizingParams:
    """Sizing rules; defaults follow the seeds (0.25 Kelly, 15% vol target, 5% per ticker)."""

    kelly_fraction: float = 0.25
    kelly_cap: float = 0.20
    min_edge: float = 0.0  # |P(up) - 0.5| below this -> no position
    long_short: bool = False
    target_vol: float = 0.15
    assumed_correlation: float = 0.3
    max_weight: float = 0.05
    gross_limit: float = 1.0
    sector_limit_bull: float = 0.40
    sector_limit_bear: float = 0.20
    stop_atr: float = 2.0
    stop_atr_bull: float = 2.5
    stop_atr_bear: float = 1.5
    reward_risk: float = 2.0
    vol_model: str = "ewma"  # or "garch" (arch's GARCH(1,1), one fit per ticker and date)

    def __post_init__(self) -> None:
        if self.vol_model not in ("ewma", "garch"):
            raise ValueError(
                f"sizing parameters: vol_model must be ewma or garch ({self.vol_model!r})"
            )
        check_limits(self, SIZING_LIMITS, "sizing parameters")


def kelly_fraction(p_up: np.ndarray, win_loss_ratio: float) -> np.ndarray:
    """Full-Kelly stake for a bet won with probability p paying ``win_loss_ratio`` per unit
    lost: f* = p - (1 - p) / b (negative means the bet has no edge)."""
    p = np.asarray(p_up, dtype=float)
    return p - (1.0 - p) / win_loss_ratio


def win_loss_ratio(outcome_returns: tuple[float, float]) -> float:
    """Mean return of up outcomes over the size of the mean down outcome (1 when unknown)."""
    up, down = outcome_returns
    return abs(up / down) if np.isfinite(up) and np.isfinite(down) and down != 0 else 1.0


def ewma_volatility(returns: pd.DataFrame, halflife: int = 20) -> pd.DataFrame:
    """Annualized EWMA volatility of each column at every row (rows <= t only)."""
    variance = (returns**2).ewm(halflife=halflife, min_periods=halflife).mean()
    return np.sqrt(variance * TRADING_DAYS)


def garch_volatility(returns: pd.Series) -> float:
    """Annualized one-step GARCH(1,1) volatility forecast (arch), from rows <= t only."""
    from arch import arch_model  # noqa: PLC0415 - optional and slow to import

    fitted = arch_model(100.0 * returns.dropna(), vol="GARCH", p=1, q=1, rescale=False).fit(
        disp="off"
    )
    return float(np.sqrt(fitted.forecast(horizon=1).variance.iloc[-1, 0] * TRADING_DAYS) / 100.0)


@dataclass(frozen=True)
class BookCovariance:
    """A daily covariance of a decision's names, for the volatility target.

    Attributes
    ----------
    matrix : ndarray of shape (n, n)
        Daily covariance of the book's rows (rows <= t only); NaN where unknown.
    source : str
        Named in the binding text, e.g. ``"risk model"`` or ``"Ledoit-Wolf"``.
    """

    matrix: np.ndarray
    source: str

    def subset(self, rows: np.ndarray) -> BookCovariance:
        """The covariance of the ``rows`` (bool or positions) only."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows)
        return BookCovariance(self.matrix[np.ix_(rows, rows)], self.source)


def portfolio_volatility(weights: np.ndarray, vols: np.ndarray, rho: float) -> float:
    """Annualized volatility of a book of ``weights`` (shape (n,)) whose names have the
    annualized ``vols`` (n,) and one pairwise correlation ``rho`` (the caps' model)."""
    risk = np.abs(weights) * vols
    total = np.sum(risk) ** 2
    own = np.sum(risk**2)
    return float(np.sqrt(own + rho * (total - own)))


def _bull_bear(book: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Rows in a bull / a bear regime (neither where the regime is unknown)."""
    regimes = book["regime_id"].to_numpy(dtype=float)
    bull = np.isfinite(regimes) & is_bull(np.nan_to_num(regimes))
    return bull, np.isfinite(regimes) & ~bull


def sector_limits(book: pd.DataFrame, params: SizingParams) -> list[tuple[str, np.ndarray, float]]:
    """Each sector of ``book`` with its rows (bool, shape (n,)) and its limit: the bull or
    bear limit by regime, the tighter one where its rows' regimes differ."""
    bull, _ = _bull_bear(book)
    sector_limit = np.where(bull, params.sector_limit_bull, params.sector_limit_bear)
    sectors = book["sector"].to_numpy()
    return [
        (sector, rows, float(sector_limit[rows].min()))
        for sector in pd.unique(sectors)
        for rows in [sectors == sector]
    ]


def _book_volatility(
    weight: np.ndarray,
    vols: np.ndarray,
    params: SizingParams,
    side: np.ndarray,
    covariance: BookCovariance | None,
) -> tuple[float, str]:
    """Annualized volatility of the book and the model named: ``sqrt(w' S w * TRADING_DAYS)``
    with the signed weights where ``covariance`` covers every held name, else the one
    assumed correlation on the sizes."""
    held = weight > 0
    if covariance is not None:
        block = covariance.subset(held).matrix
        if np.isfinite(block).all():
            signed = weight[held] * side[held]
            return float(np.sqrt(max(signed @ block @ signed, 0.0) * TRADING_DAYS)), (
                covariance.source
            )
    rho = params.assumed_correlation
    return portfolio_volatility(weight, vols, rho), f"assumed correlation {rho:g}"


def apply_caps(
    weight: np.ndarray,
    book: pd.DataFrame,
    params: SizingParams,
    binding: list[list[str]] | None = None,
    *,
    side: np.ndarray | None = None,
    covariance: BookCovariance | None = None,
) -> tuple[np.ndarray, list[list[str]]]:
    """The caps every construction method ends with, in order: max weight per ticker,
    sector limit by regime, no volatility estimate, volatility target, gross limit.

    Parameters
    ----------
    weight : ndarray of shape (n,)
        Position sizes before the caps, as fractions of equity (>= 0; the side apart).
    book : DataFrame of n rows
        ``regime_id``, ``sector`` and ``volatility`` (annualized) per ticker, rows <= t.
    binding : list of n lists of str, optional
        Reasons already named per row; the caps that bind are appended.
    side : ndarray of shape (n,), optional
        +1 long, -1 short (default all long): signs the sizes for ``covariance``.
    covariance : BookCovariance, optional
        Daily covariance of the rows: where it is finite for every held name the
        volatility target prices the signed book with it (``w' S w`` annualized by
        ``TRADING_DAYS``); otherwise, and without it, with ``assumed_correlation`` on
        the sizes. The binding text names which (``volatility target 15% (risk model)``).

    Returns
    -------
    The capped sizes, shape (n,), and ``binding`` with every cap that bound named.
    """
    binding = binding if binding is not None else [[] for _ in range(len(book))]
    wanted = np.asarray(weight, dtype=float)
    weight = wanted.copy()
    over = weight > params.max_weight
    weight[over] = params.max_weight
    for i in np.flatnonzero(over):
        binding[i].append("max weight per ticker")
    for sector, rows, limit in sector_limits(book, params):
        total = weight[rows].sum()
        if total > limit * (1 + _SLACK):
            weight[rows] *= limit / total
            for i in np.flatnonzero(rows & (weight > 0)):
                binding[i].append(f"sector limit {limit:.0%} ({sector})")
    vols = book["volatility"].to_numpy(dtype=float)
    known = np.isfinite(vols)
    weight[~known] = 0.0
    for i in np.flatnonzero(~known & (wanted > 0)):
        binding[i].append("no volatility estimate")
    side = np.ones(len(weight)) if side is None else np.asarray(side, dtype=float)
    portfolio_vol, model = _book_volatility(weight, np.nan_to_num(vols), params, side, covariance)
    if portfolio_vol > params.target_vol:
        weight *= params.target_vol / portfolio_vol
        for i in np.flatnonzero(weight > 0):
            binding[i].append(f"volatility target {params.target_vol:.0%} ({model})")
    gross = weight.sum()
    if gross > params.gross_limit * (1 + _SLACK):
        weight *= params.gross_limit / gross
        for i in np.flatnonzero(weight > 0):
            binding[i].append(f"gross limit {params.gross_limit:.0%}")
    return weight, binding


def size_positions(
    book: pd.DataFrame,
    equity: float,
    win_loss_ratio: float,
    params: SizingParams | None = None,
    covariance: BookCovariance | None = None,
) -> pd.DataFrame:
    """Weights, shares, stops and take-profits for one decision date.

    Parameters
    ----------
    book : DataFrame indexed by ticker with columns ``p_up`` (calibrated), ``price``,
        ``atr`` (in price units), ``volatility`` (annualized), ``regime_id`` and ``sector``.
    equity : portfolio value to size against.
    win_loss_ratio : average win over average loss, measured on training outcomes.
    covariance : BookCovariance of the book's rows, optional (``apply_caps``).

    Returns
    -------
    DataFrame indexed by ticker with ``SIZING_COLUMNS``.
    """
    params = params or SizingParams()
    p = book["p_up"].to_numpy(dtype=float)
    edge_long = kelly_fraction(p, win_loss_ratio)
    edge_short = kelly_fraction(1.0 - p, win_loss_ratio)
    side = np.where(edge_long > 0, 1.0, 0.0)
    if params.long_short:
        side = np.where(edge_short > 0, -1.0, side)
    side[np.abs(p - 0.5) < params.min_edge] = 0.0
    edge = np.where(side > 0, edge_long, np.where(side < 0, edge_short, 0.0))
    stake = np.clip(params.kelly_fraction * edge, 0.0, params.kelly_cap)
    binding = [[] for _ in range(len(book))]
    for i in np.flatnonzero(stake == params.kelly_cap):
        binding[i].append("kelly cap")
    weight, binding = apply_caps(stake, book, params, binding, side=side, covariance=covariance)
    bull, bear = _bull_bear(book)
    price = book["price"].to_numpy(dtype=float)
    # whole shares; the epsilon keeps 399.99999... (float error) from becoming 399
    shares = np.where(price > 0, np.floor(weight * equity / price + 1e-9), 0.0) * side
    multiple = np.where(
        bull, params.stop_atr_bull, np.where(bear, params.stop_atr_bear, params.stop_atr)
    )
    risk = multiple * book["atr"].to_numpy(dtype=float)
    stop = np.where(side != 0, price - side * risk, np.nan)
    take_profit = np.where(side != 0, price + side * params.reward_risk * risk, np.nan)
    return pd.DataFrame(
        {
            "side": side,
            "kelly": edge,
            "weight": weight * side,
            "shares": shares,
            "stop": stop,
            "take_profit": take_profit,
            "trailing": (side != 0) & bull,
            "binding": [", ".join(reasons) for reasons in binding],
        },
        index=book.index,
    )


def sizing_inputs(
    panel: WidePanel, vol_model: str = "ewma", rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """ATR (``atr_or_proxy``) and annualized volatility, both ``(T, N)``, rows <= t each.

    With ``vol_model="garch"`` the volatility is one GARCH(1,1) fit per ticker at each of
    ``rows`` (all rows when None) and NaN elsewhere.
    """
    atr = atr_or_proxy(panel)[0]
    returns = pd.DataFrame(panel.close).pct_change(fill_method=None)
    if vol_model != "garch":
        return atr, ewma_volatility(returns).to_numpy()
    vol = np.full(panel.close.shape, np.nan)
    for i in range(len(returns)) if rows is None else rows:
        for j in range(returns.shape[1]):
            past = returns.iloc[: i + 1, j]
            if past.notna().sum() > 2:
                vol[i, j] = garch_volatility(past)
    return atr, vol


def decision_book(
    panel: WidePanel,
    i: int,
    p_up: np.ndarray,
    *,
    regime_id: float | np.ndarray,
    inputs: tuple[np.ndarray, np.ndarray],
) -> pd.DataFrame:
    """``size_positions``' input at the close of row ``i``: every ticker of ``panel``
    (``p_up`` of length N, NaN where unknown), ``inputs`` from ``sizing_inputs``."""
    atr, vol = inputs
    return pd.DataFrame(
        {
            "p_up": p_up,
            "price": panel.close[i],
            "atr": atr[i],
            "volatility": vol[i],
            "regime_id": regime_id,
            "sector": [sector_of(t) for t in panel.tickers],
        },
        index=list(panel.tickers),
    )


def size_row(
    panel: WidePanel,
    i: int,
    p_up: np.ndarray,
    *,
    regime_id: float | np.ndarray,
    ratio: float,
    sizing: SizingParams,
    inputs: tuple[np.ndarray, np.ndarray],
    covariance: BookCovariance | None = None,
) -> pd.DataFrame:
    """``size_positions`` at the close of row ``i`` as weights (equity 1), for the tickers
    whose ``p_up`` (length N) is known; ``inputs`` from ``sizing_inputs``; ``covariance``
    of all N tickers, optional. The Kelly method of
    ``engine.trading.construction.construct_row`` (the backtest's and the paper step's one
    decision) decides through here."""
    book = decision_book(panel, i, p_up, regime_id=regime_id, inputs=inputs)
    known = book["p_up"].notna().to_numpy()
    covariance = None if covariance is None else covariance.subset(known)
    return size_positions(book[known], 1.0, ratio, sizing, covariance)


def sized_weight_arrays(
    panel: WidePanel, predictions: pd.DataFrame, ratio: float, sizing: SizingParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Target weights, stops, take-profits and trailing flags (T x N) of Kelly sizing on
    every forecast date: ``engine.trading.construction.constructed_weight_arrays`` with
    ``KELLY`` (kept for callers that size without a construction)."""
    from engine.trading.construction import (  # noqa: PLC0415 - construction builds on sizing
        KELLY,
        constructed_weight_arrays,
    )

    return constructed_weight_arrays(panel, predictions, ratio, sizing, KELLY)
