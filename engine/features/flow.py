"""Flow family: volume-based proxies of institutional buying and selling.

The seeds call these "dark pool signals"; they are proxies read off public bars, not dark
pool prints. The Institutional Flow Index can be computed from intraday bars, but no source
here stores intraday bars, so the daily-bar variant is the one computed (``IFI_VARIANT``,
recorded in the feature-set parameters).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.features.base import ColumnSpec, FeatureParams, run_family
from engine.features.context import MarketContext
from engine.features.panel import (
    Array,
    WidePanel,
    rolling_mean,
    rolling_percentile,
    rolling_slope_of_sum,
    rolling_sum,
    safe_divide,
    shift,
)

IFI_VARIANT = "daily"
HLCV = ("high", "low", "close", "volume")
CV = ("close", "volume")
WINDOW = 20
HISTORY = 126  # half a year: keeps the SMI's whole look-back under 300 sessions


def columns(params: FeatureParams | None = None) -> tuple[ColumnSpec, ...]:
    return (
        ColumnSpec(
            "ifi_20",
            CV,
            "Institutional Flow Index, 20 days: large up-volume minus large down-volume over "
            "all volume; large = above the 90th percentile of half a year's volume (daily bars)",
        ),
        ColumnSpec(
            "ad_slope_20", HLCV, "slope of the accumulation/distribution line, per day's volume"
        ),
        ColumnSpec(
            "obv_hv_20", CV, "on-balance volume of above-average-volume days over 20 days' volume"
        ),
        ColumnSpec(
            "vroc_14", ("volume",), "volume rate of change: 5-day mean volume vs 14 days earlier"
        ),
        ColumnSpec("cmf_20", HLCV, "close-location-weighted volume (Chaikin money flow), -1 to 1"),
        ColumnSpec(
            "smi",
            HLCV,
            "Smart Money Index 0-100: mean half-year percentile of IFI, money flow, A/D slope, "
            "high-volume OBV; 60+ accumulation, 40- distribution",
        ),
    )


def close_location(panel: WidePanel) -> Array:
    """(2C - H - L) / (H - L), -1 at the low, +1 at the high; 0 on a bar with no range."""
    span = panel.high - panel.low
    clv = safe_divide(2.0 * panel.close - panel.high - panel.low, span)
    clv[(span == 0) & np.isfinite(panel.close)] = 0.0
    return clv


def _flag(condition: Array, valid: Array) -> Array:
    """Condition as 1.0/0.0, NaN where its inputs are missing."""
    return np.where(valid, condition.astype(float), np.nan)


def flow_arrays(
    panel: WidePanel, context: MarketContext | None = None, params: FeatureParams | None = None
) -> dict[str, Array]:
    params = params or FeatureParams()
    close, volume = panel.close, panel.volume
    change = close - shift(close)
    percentile = rolling_percentile(volume, HISTORY)
    valid = np.isfinite(percentile) & np.isfinite(change)
    large = _flag(percentile > params.large_volume_percentile, valid)
    signed_large = volume * large * np.sign(change)
    total = rolling_sum(volume, WINDOW)
    out = {"ifi_20": safe_divide(rolling_sum(signed_large, WINDOW), total)}
    money_flow = close_location(panel) * volume
    out["ad_slope_20"] = safe_divide(
        rolling_slope_of_sum(money_flow, WINDOW), rolling_mean(volume, WINDOW)
    )
    average = rolling_mean(volume, 50)
    high_volume = _flag(volume > average, np.isfinite(average) & np.isfinite(change))
    out["obv_hv_20"] = safe_divide(
        rolling_sum(np.sign(change) * volume * high_volume, WINDOW), total
    )
    recent = rolling_mean(volume, 5)
    out["vroc_14"] = safe_divide(recent, shift(recent, 14)) - 1.0
    out["cmf_20"] = safe_divide(rolling_sum(money_flow, WINDOW), total)
    parts = [out[name] for name in ("ifi_20", "cmf_20", "ad_slope_20", "obv_hv_20")]
    out["smi"] = 100.0 * np.mean([rolling_percentile(part, HISTORY) for part in parts], axis=0)
    return out


def interpret_smi(value: float, params: FeatureParams | None = None) -> str:
    """'accumulation', 'neutral' or 'distribution' for a Smart Money Index value."""
    params = params or FeatureParams()
    if not np.isfinite(value):
        return "unavailable"
    if value >= params.smi_accumulation:
        return "accumulation"
    if value <= params.smi_distribution:
        return "distribution"
    return "neutral"


def compute_flow(prices: pd.DataFrame, *, context: MarketContext | None = None) -> pd.DataFrame:
    """Flow features by (ticker, date); row t uses rows <= t of its own ticker only."""
    return run_family(flow_arrays, columns(), prices, context)
