"""Microstructure family: spread, liquidity and gap proxies estimated from daily OHLC(V)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.features.base import ColumnSpec, FeatureParams, run_family
from engine.features.context import MarketContext
from engine.features.flow import close_location
from engine.features.panel import (
    Array,
    WidePanel,
    log_return,
    rolling_mean,
    rolling_std,
    rolling_sum,
    safe_divide,
    shift,
)

HL, HLC = ("high", "low"), ("high", "low", "close")
WINDOW = 20
_CS_K = 3.0 - 2.0 * np.sqrt(2.0)


def columns(params: FeatureParams | None = None) -> tuple[ColumnSpec, ...]:
    return (
        ColumnSpec(
            "cs_spread_20", HL, "Corwin-Schultz spread estimate, 20-day mean, fraction of price"
        ),
        ColumnSpec(
            "roll_spread_20", ("close",), "Roll spread: 2 sqrt(-autocovariance of returns), 20 days"
        ),
        ColumnSpec(
            "amihud_20", ("close", "volume"), "log10 Amihud illiquidity: |return| per dollar traded"
        ),
        ColumnSpec(
            "range_vol_ratio_20",
            HLC,
            "Parkinson high-low volatility over close-to-close volatility",
        ),
        ColumnSpec("gap_1d", ("open", "close"), "open / previous close - 1"),
        ColumnSpec("gap_abs_mean_20", ("open", "close"), "mean absolute overnight gap, 20 days"),
        ColumnSpec("clv", HLC, "close location value: -1 at the day's low, +1 at its high"),
        ColumnSpec("vwap_dev_20", HLC + ("volume",), "close / 20-day typical-price VWAP - 1"),
    )


def corwin_schultz(high: Array, low: Array) -> Array:
    """Daily Corwin-Schultz (2012) spread from two consecutive bars; negatives set to 0."""
    log_hl = np.log(safe_divide(high, low)) ** 2
    beta = log_hl + shift(log_hl)
    two_day = safe_divide(np.fmax(high, shift(high)), np.fmin(low, shift(low)))
    gamma = np.log(two_day) ** 2
    gamma[~np.isfinite(shift(high) + shift(low))] = np.nan
    alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / _CS_K - np.sqrt(gamma / _CS_K)
    spread = 2.0 * np.expm1(alpha) / (1.0 + np.exp(alpha))
    return np.clip(spread, 0.0, None)


def roll_spread(returns: Array, window: int) -> Array:
    lagged = shift(returns)
    cov = rolling_mean(returns * lagged, window) - rolling_mean(returns, window) * rolling_mean(
        lagged, window
    )
    return 2.0 * np.sqrt(np.clip(-cov, 0.0, None))


def microstructure_arrays(
    panel: WidePanel, context: MarketContext | None = None, params: FeatureParams | None = None
) -> dict[str, Array]:
    close, volume = panel.close, panel.volume
    returns = log_return(close)
    out = {
        "cs_spread_20": rolling_mean(corwin_schultz(panel.high, panel.low), WINDOW),
        "roll_spread_20": roll_spread(returns, WINDOW),
    }
    illiquidity = rolling_mean(safe_divide(np.abs(returns), close * volume), WINDOW)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["amihud_20"] = np.log10(np.where(illiquidity > 0, illiquidity, np.nan))
    parkinson = np.sqrt(
        rolling_mean(np.log(safe_divide(panel.high, panel.low)) ** 2, WINDOW) / (4.0 * np.log(2.0))
    )
    out["range_vol_ratio_20"] = safe_divide(parkinson, rolling_std(returns, WINDOW, ddof=1))
    gap = safe_divide(panel.open, shift(close)) - 1.0
    out["gap_1d"] = gap
    out["gap_abs_mean_20"] = rolling_mean(np.abs(gap), WINDOW)
    out["clv"] = close_location(panel)
    typical = (panel.high + panel.low + close) / 3.0
    vwap = safe_divide(rolling_sum(typical * volume, WINDOW), rolling_sum(volume, WINDOW))
    out["vwap_dev_20"] = safe_divide(close, vwap) - 1.0
    return out


def compute_microstructure(
    prices: pd.DataFrame, *, context: MarketContext | None = None
) -> pd.DataFrame:
    """Microstructure features by (ticker, date); row t uses rows <= t of its ticker only."""
    return run_family(microstructure_arrays, columns(), prices, context)
