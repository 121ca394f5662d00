"""Regime family: the seeds' 12-state market regime.

regime = volatility level (low / normal / high, from VIX or its realized-volatility proxy)
x breadth (share of the universe above its 50-day mean: strong >= 50%, weak < 50%)
x ATR trend of the index (expanding: ATR 14 above its 50-day mean; contracting otherwise).

``regime_id = 4 * vol_level + 2 * weak_breadth + contracting``. Every input is read at
date t from data dated <= t; a date with any input missing has no regime (NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.features.base import ColumnSpec, FeatureParams, broadcast, run_family
from engine.features.context import MarketContext, compute_volatility_gauge
from engine.features.panel import WidePanel, by_date, wilder

VOL_LEVELS = ("Low vol", "Normal vol", "High vol")
N_REGIMES = 12
REGIME_NAMES = tuple(
    f"{vol} · {breadth} breadth · ATR {atr}"
    for vol in VOL_LEVELS
    for breadth in ("strong", "weak")
    for atr in ("expanding", "contracting")
)
HISTORY_COLUMNS = (
    "vol_level",
    "vol_proxy",
    "breadth",
    "atr_ratio",
    "atr_expanding",
    "atr_proxy",
    "regime_id",
    "regime_name",
)
# feature column -> regime history column
_FEATURE_SOURCES = {
    "regime_id": "regime_id",
    "regime_vol_level": "vol_level",
    "regime_breadth": "breadth",
    "regime_atr_expanding": "atr_expanding",
    "regime_vol_proxy": "vol_proxy",
    "regime_atr_proxy": "atr_proxy",
}


def columns(params: FeatureParams | None = None) -> tuple[ColumnSpec, ...]:
    market = ("vix", "breadth", "index")
    return (
        ColumnSpec("regime_id", market, "12-state regime id (0-11), see REGIME_NAMES"),
        ColumnSpec("regime_vol_level", ("vix",), "volatility level: 0 low, 1 normal, 2 high"),
        ColumnSpec("regime_breadth", ("breadth",), "share of the universe above its 50-day mean"),
        ColumnSpec(
            "regime_atr_expanding", ("index",), "1 when the index's ATR 14 is above its 50-day mean"
        ),
        ColumnSpec("regime_vol_proxy", ("vix",), "1 where realized volatility stands in for VIX"),
        ColumnSpec(
            "regime_atr_proxy", ("index",), "1 where close-to-close moves stand in for the ATR"
        ),
    )


def is_bull(regime_id: np.ndarray | float) -> np.ndarray:
    """Bull regimes are those with strong breadth (even ``regime_id // 2``)."""
    return (np.asarray(regime_id) // 2) % 2 == 0


def _atr_ratio(index: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """ATR 14 over its 50-day mean, and 1.0 where the close-only proxy was used."""
    close = index["close"]
    prev = close.shift(1)
    true_range = np.fmax(index["high"], prev) - np.fmin(index["low"], prev)
    true_range = true_range.where(index["high"].notna() & index["low"].notna())
    ratios = []
    for moves in (true_range, (close - prev).abs()):
        atr = pd.Series(wilder(moves.to_numpy()[:, None], 14)[:, 0], index=index.index)
        ratios.append(atr / atr.rolling(50).mean())
    true_ratio, proxy_ratio = ratios
    use_proxy = true_ratio.isna() & proxy_ratio.notna()
    ratio = true_ratio.where(~use_proxy, proxy_ratio)
    return ratio, use_proxy.astype(float).where(ratio.notna())


def compute_regime_history(context: MarketContext) -> pd.DataFrame:
    """One row per market date: the regime's inputs, id and readable name.

    Uses data dated <= t for the row at t. Columns: ``HISTORY_COLUMNS``.
    """
    params = context.params
    gauge = compute_volatility_gauge(context)
    if context.index is None or gauge.empty:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS), index=pd.DatetimeIndex([], name="date"))
    dates = context.index.index
    gauge = gauge.reindex(dates)
    proxy = gauge["is_proxy"] == 1.0
    low = np.where(proxy, params.proxy_low, params.vix_low)
    high = np.where(proxy, params.proxy_high, params.vix_high)
    level = gauge["level"].to_numpy()
    vol_level = np.where(level < low, 0.0, np.where(level > high, 2.0, 1.0))
    vol_level[~np.isfinite(level)] = np.nan
    breadth = context.breadth.reindex(dates)
    atr_ratio, atr_proxy = _atr_ratio(context.index)
    weak = np.where(breadth.notna(), (breadth < 0.5).astype(float), np.nan)
    contracting = np.where(atr_ratio.notna(), (atr_ratio <= 1.0).astype(float), np.nan)
    regime = 4.0 * vol_level + 2.0 * weak + contracting
    names = pd.Series(
        [REGIME_NAMES[int(r)] if np.isfinite(r) else None for r in regime],
        index=dates,
        dtype=object,
    )
    history = pd.DataFrame(
        {
            "vol_level": vol_level,
            "vol_proxy": gauge["is_proxy"].to_numpy(),
            "breadth": breadth.to_numpy(),
            "atr_ratio": atr_ratio.to_numpy(),
            "atr_expanding": 1.0 - contracting,
            "atr_proxy": atr_proxy.to_numpy(),
            "regime_id": regime,
            "regime_name": names,
        },
        index=dates,
    )
    history.index.name = "date"
    return history


def regime_transitions(history: pd.DataFrame) -> pd.DataFrame:
    """12 x 12 matrix: share of days in regime i (rows) followed by regime j (columns).

    Consecutive rows of ``history`` with a regime on both days are counted; rows with no
    observations are all NaN.
    """
    ids = history["regime_id"].to_numpy()
    today, tomorrow = ids[:-1], ids[1:]
    known = np.isfinite(today) & np.isfinite(tomorrow)
    counts = np.zeros((N_REGIMES, N_REGIMES))
    np.add.at(counts, (today[known].astype(int), tomorrow[known].astype(int)), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        shares = np.where(totals > 0, counts / totals, np.nan)
    return pd.DataFrame(shares, index=range(N_REGIMES), columns=range(N_REGIMES))


def regime_arrays(
    panel: WidePanel, context: MarketContext | None = None, params: FeatureParams | None = None
) -> dict[str, np.ndarray]:
    if context is None:
        raise ValueError("the regime family needs a market context (build_context)")
    history = compute_regime_history(context)
    return {
        name: broadcast(panel, by_date(panel, history[column].astype(float)))
        for name, column in _FEATURE_SOURCES.items()
    }


def compute_regime(prices: pd.DataFrame, *, context: MarketContext) -> pd.DataFrame:
    """Regime columns by (ticker, date), the same for every ticker on a date; data <= t."""
    return run_family(regime_arrays, columns(context.params), prices, context)
