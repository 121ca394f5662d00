"""Technical family: returns, momentum oscillators, trend stack, ranges and volatility.

All columns are ratios, bounded oscillators or z-scores, never price levels. RSI, ATR and
ADX use Wilder's smoothing; MACD uses pandas' recursive EMA; the EMA stack uses the
bias-corrected EMA (``adjust=True``) so that the 200-day line settles sooner.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.features.base import ColumnSpec, FeatureParams, run_family
from engine.features.context import MarketContext
from engine.features.panel import (
    Array,
    WidePanel,
    ewm_mean,
    log_return,
    pct_change,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_std,
    rolling_zscore,
    safe_divide,
    shift,
    to_long,
    to_wide,
    true_range,
    wilder,
)
from engine.metrics import TRADING_DAYS

C, HLC, V = ("close",), ("high", "low", "close"), ("volume",)
ANNUALIZE = np.sqrt(TRADING_DAYS)


def columns(params: FeatureParams | None = None) -> tuple[ColumnSpec, ...]:
    return (
        ColumnSpec("ret_1d", C, "1-day return"),
        ColumnSpec("ret_5d", C, "5-day return"),
        ColumnSpec("ret_10d", C, "10-day return"),
        ColumnSpec("ret_20d", C, "20-day return"),
        ColumnSpec("rsi_14", C, "RSI 14 (Wilder), 0-100; below 30 oversold, above 70 overbought"),
        ColumnSpec("macd_hist_pct", C, "MACD(12, 26, 9) histogram as a fraction of the close"),
        ColumnSpec("adx_14", HLC, "ADX 14: trend strength, 0-100; above 25 trending"),
        ColumnSpec("atr_pct_14", HLC, "ATR 14 as a fraction of the close"),
        ColumnSpec("bb_width_20", C, "Bollinger(20, 2) band width over the middle band"),
        ColumnSpec("bb_pctb_20", C, "Bollinger %B: 0 at the lower band, 1 at the upper"),
        ColumnSpec("stoch_k_14", HLC, "Stochastic %K 14, 0-100"),
        ColumnSpec("stoch_d_3", HLC, "Stochastic %D: 3-day mean of %K"),
        ColumnSpec(
            "ema_stack", C, "close > EMA 8 > 21 > 50 > 200 order: +4 all rising, -4 all falling"
        ),
        ColumnSpec("dist_ema21", C, "close / EMA 21 - 1"),
        ColumnSpec("dist_ema50", C, "close / EMA 50 - 1"),
        ColumnSpec("dist_52w_high", C, "close / highest close of 252 days - 1"),
        ColumnSpec("dist_52w_low", C, "close / lowest close of 252 days - 1"),
        ColumnSpec("volume_z_20", V, "volume z-score against the last 20 days"),
        ColumnSpec("realized_vol_20", C, "20-day close-to-close volatility, annualized"),
        ColumnSpec("vol_ratio_5_20", C, "5-day over 20-day realized volatility"),
        ColumnSpec("vol_ratio_20_60", C, "20-day over 60-day realized volatility"),
    )


def rsi(close: Array, period: int = 14) -> Array:
    change = close - shift(close)
    gain = wilder(np.maximum(change, 0.0), period)
    loss = wilder(np.maximum(-change, 0.0), period)
    out = 100.0 - 100.0 / (1.0 + safe_divide(gain, loss))
    out[(loss == 0) & (gain >= 0)] = 100.0
    return out


def adx(panel: WidePanel, period: int = 14) -> Array:
    up = panel.high - shift(panel.high)
    down = shift(panel.low) - panel.low
    plus_dm = np.where((up > down) & (up > 0), up, 0.0)
    minus_dm = np.where((down > up) & (down > 0), down, 0.0)
    missing = ~np.isfinite(up + down)
    plus_dm[missing] = np.nan
    minus_dm[missing] = np.nan
    atr = wilder(true_range(panel), period)
    plus_di = 100.0 * safe_divide(wilder(plus_dm, period), atr)
    minus_di = 100.0 * safe_divide(wilder(minus_dm, period), atr)
    dx = 100.0 * safe_divide(np.abs(plus_di - minus_di), plus_di + minus_di)
    return wilder(dx, period)


def bollinger(close: Array, window: int = 20, width: float = 2.0) -> tuple[Array, Array]:
    """Middle band (SMA) and half band width (``width`` population standard deviations)."""
    return rolling_mean(close, window), width * rolling_std(close, window)


def ema(close: Array, span: int) -> Array:
    return ewm_mean(close, span=span, adjust=True, min_periods=span)


def technical_arrays(
    panel: WidePanel, context: MarketContext | None = None, params: FeatureParams | None = None
) -> dict[str, Array]:
    close = panel.close
    out: dict[str, Array] = {f"ret_{k}d": pct_change(close, k) for k in (1, 5, 10, 20)}
    out["rsi_14"] = rsi(close)
    fast = ewm_mean(close, span=12, adjust=False, min_periods=12)
    slow = ewm_mean(close, span=26, adjust=False, min_periods=26)
    macd = fast - slow
    signal = ewm_mean(macd, span=9, adjust=False, min_periods=9)
    out["macd_hist_pct"] = safe_divide(macd - signal, close)
    out["adx_14"] = adx(panel)
    atr = wilder(true_range(panel), 14)
    out["atr_pct_14"] = safe_divide(atr, close)
    middle, band = bollinger(close)
    out["bb_width_20"] = safe_divide(2.0 * band, middle)
    out["bb_pctb_20"] = safe_divide(close - (middle - band), 2.0 * band)
    low = rolling_min(panel.low, 14)
    stoch = 100.0 * safe_divide(close - low, rolling_max(panel.high, 14) - low)
    out["stoch_k_14"] = stoch
    out["stoch_d_3"] = rolling_mean(stoch, 3)
    lines = [close] + [ema(close, span) for span in (8, 21, 50, 200)]
    out["ema_stack"] = sum(np.sign(a - b) for a, b in zip(lines, lines[1:], strict=False))
    out["dist_ema21"] = safe_divide(close, lines[2]) - 1.0
    out["dist_ema50"] = safe_divide(close, lines[3]) - 1.0
    out["dist_52w_high"] = safe_divide(close, rolling_max(close, 252)) - 1.0
    out["dist_52w_low"] = safe_divide(close, rolling_min(close, 252)) - 1.0
    out["volume_z_20"] = rolling_zscore(panel.volume, 20)
    returns = log_return(close)
    vol = {w: rolling_std(returns, w, ddof=1) for w in (5, 20, 60)}
    out["realized_vol_20"] = vol[20] * ANNUALIZE
    out["vol_ratio_5_20"] = safe_divide(vol[5], vol[20])
    out["vol_ratio_20_60"] = safe_divide(vol[20], vol[60])
    return out


def compute_technical(
    prices: pd.DataFrame, *, context: MarketContext | None = None
) -> pd.DataFrame:
    """Technical features by (ticker, date); row t uses rows <= t of its own ticker only."""
    return run_family(technical_arrays, columns(), prices, context)


def compute_overlays(prices: pd.DataFrame) -> pd.DataFrame:
    """Price-level lines for charts (not features): EMA 8/21/50/200 and Bollinger(20, 2).

    Indexed by (ticker, date); rows <= t only, like the features they illustrate.
    """
    panel = to_wide(prices)
    middle, band = bollinger(panel.close)
    lines = {f"ema_{span}": ema(panel.close, span) for span in (8, 21, 50, 200)}
    lines |= {"bb_upper": middle + band, "bb_middle": middle, "bb_lower": middle - band}
    return to_long(panel, lines)
