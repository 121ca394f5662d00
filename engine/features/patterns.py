"""Patterns family: candlesticks, volume-confirmed breakouts, volatility contraction.

Candles are +1/0 flags (engulfing and star: +1 bullish, -1 bearish); each needs the full
OHLC of every bar it looks at, so close-only tickers get NaN, not a guess.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.features.base import ColumnSpec, FeatureParams, run_family
from engine.features.context import MarketContext
from engine.features.panel import (
    Array,
    WidePanel,
    pct_change,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_percentile,
    safe_divide,
    shift,
    shift_mask,
)
from engine.features.technical import bollinger

OHLC = ("open", "high", "low", "close")
HISTORY = 126
BREAKOUT_WINDOW = 20


def columns(params: FeatureParams | None = None) -> tuple[ColumnSpec, ...]:
    return (
        ColumnSpec("doji", OHLC, "doji: body at most a tenth of the day's range"),
        ColumnSpec(
            "hammer", OHLC, "hammer after a 5-day fall: long lower shadow, close near the high"
        ),
        ColumnSpec("shooting_star", OHLC, "shooting star after a 5-day rise: long upper shadow"),
        ColumnSpec("engulfing", OHLC, "engulfing: +1 bullish, -1 bearish"),
        ColumnSpec("star", OHLC, "three-bar star: +1 morning star, -1 evening star"),
        ColumnSpec(
            "breakout_20", ("close",), "close beyond the prior 20 days' closes: +1 up, -1 down"
        ),
        ColumnSpec(
            "breakout_volume_20",
            ("close", "volume"),
            "breakout on volume above 1.5x its 20-day mean",
        ),
        ColumnSpec(
            "vol_contraction",
            ("close",),
            "1 - half-year percentile of Bollinger width (1 = tightest)",
        ),
        ColumnSpec(
            "prebreakout_score",
            ("close", "volume"),
            "pre-breakout score 0-100: contraction, nearness to the 20-day high, quiet volume",
        ),
    )


def _flags(condition: Array, valid: Array) -> Array:
    return np.where(valid, condition.astype(float), np.nan)


def candle_arrays(panel: WidePanel) -> dict[str, Array]:
    o, h, low, c = panel.open, panel.high, panel.low, panel.close
    valid = panel.has(*OHLC)
    valid2 = valid & shift_mask(valid)
    valid3 = valid2 & shift_mask(valid, 2)
    body = np.abs(c - o)
    span = h - low
    upper = h - np.fmax(o, c)
    lower = np.fmin(o, c) - low
    prior = shift(pct_change(c, 5))
    has_span = span > 0
    bull, bear = c > o, c < o
    prev_body, prev_o, prev_c = shift(body), shift(o), shift(c)
    bull_engulf = bull & shift_mask(bear) & (o <= prev_c) & (c >= prev_o)
    bear_engulf = bear & shift_mask(bull) & (o >= prev_c) & (c <= prev_o)
    bull_engulf &= body > prev_body
    bear_engulf &= body > prev_body
    first_body, first_o, first_c = shift(body, 2), shift(o, 2), shift(c, 2)
    long_first = first_body >= 0.5 * shift(span, 2)
    small_middle = prev_body <= 0.3 * first_body
    midpoint = (first_o + first_c) / 2.0
    morning = long_first & (first_c < first_o) & small_middle & bull & (c > midpoint)
    evening = long_first & (first_c > first_o) & small_middle & bear & (c < midpoint)
    return {
        "doji": _flags(has_span & (body <= 0.1 * span), valid),
        "hammer": _flags(
            has_span & (lower >= 0.6 * span) & (upper <= 0.15 * span) & (prior < 0),
            valid & np.isfinite(prior),
        ),
        "shooting_star": _flags(
            has_span & (upper >= 0.6 * span) & (lower <= 0.15 * span) & (prior > 0),
            valid & np.isfinite(prior),
        ),
        "engulfing": _flags(bull_engulf, valid2) - _flags(bear_engulf, valid2),
        "star": _flags(morning, valid3) - _flags(evening, valid3),
    }


def patterns_arrays(
    panel: WidePanel, context: MarketContext | None = None, params: FeatureParams | None = None
) -> dict[str, Array]:
    params = params or FeatureParams()
    close, volume = panel.close, panel.volume
    out = candle_arrays(panel)
    prior_high = shift(rolling_max(close, BREAKOUT_WINDOW))
    prior_low = shift(rolling_min(close, BREAKOUT_WINDOW))
    known = np.isfinite(prior_high) & np.isfinite(close)
    breakout = _flags(close > prior_high, known) - _flags(close < prior_low, known)
    out["breakout_20"] = breakout
    prior_volume = shift(rolling_mean(volume, BREAKOUT_WINDOW))
    loud = _flags(
        volume > params.breakout_volume_multiple * prior_volume,
        np.isfinite(prior_volume) & np.isfinite(volume),
    )
    out["breakout_volume_20"] = breakout * loud
    middle, band = bollinger(close)
    contraction = 1.0 - rolling_percentile(safe_divide(band, middle), HISTORY)
    out["vol_contraction"] = contraction
    nearness = np.clip((safe_divide(close, prior_high) - 0.9) / 0.1, 0.0, 1.0)
    dry_up = 1.0 - rolling_percentile(rolling_mean(volume, 5), HISTORY)
    out["prebreakout_score"] = 100.0 * (contraction + nearness + dry_up) / 3.0
    return out


def compute_patterns(prices: pd.DataFrame, *, context: MarketContext | None = None) -> pd.DataFrame:
    """Pattern features by (ticker, date); row t uses rows <= t of its own ticker only."""
    return run_family(patterns_arrays, columns(), prices, context)
