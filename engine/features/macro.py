"""Macro and crypto columns of the cross-asset family: yields, the dollar, FRED's VIX, BTC.

Point in time, then T-1: at each session s the "as known" value of a series is its latest
observation whose ``known_date`` is <= s (the newest revision known by s); the row of t
holds the value as known at the session before t, like every cross-asset column. A value
older than ``MAX_AGE_DAYS`` at s is stale and reads NaN, so a series that stops (or was
never stored) is missing, never carried forward. Changes are differences between what was
known 5 (or 20) sessions apart, on the panel's session calendar, so BTC's weekend bars
count from the first session after them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.features.base import ColumnSpec
from engine.features.panel import Array, WidePanel, shift

MAX_AGE_DAYS = 14  # the weekly dollar index is up to ~10 days old when first known

# context input name -> series id
SERIES_INPUTS = {
    "dgs10": "DGS10",
    "dgs2": "DGS2",
    "dollar": "DTWEXBGS",
    "vixcls": "VIXCLS",
    "btc": "BTC-USD",
}

COLUMNS = (
    ColumnSpec("curve_slope_10y2y", ("dgs10", "dgs2"), "10y minus 2y Treasury yield, T-1"),
    ColumnSpec("dgs10_change_5d", ("dgs10",), "5-session change of the 10y yield (points), T-1"),
    ColumnSpec("dgs2_change_5d", ("dgs2",), "5-session change of the 2y yield (points), T-1"),
    ColumnSpec("dollar_ret_5d", ("dollar",), "broad dollar index 5-session return, T-1"),
    ColumnSpec("dollar_ret_20d", ("dollar",), "broad dollar index 20-session return, T-1"),
    ColumnSpec("vixcls_level", ("vixcls",), "VIX close from FRED, T-1"),
    ColumnSpec("vixcls_change_5d", ("vixcls",), "5-session change of FRED's VIX (ratio), T-1"),
    ColumnSpec("btc_ret_5d", ("btc",), "BTC-USD 5-session return, T-1"),
    ColumnSpec("btc_ret_20d", ("btc",), "BTC-USD 20-session return, T-1"),
)


def as_known(macro: pd.DataFrame, series_id: str, sessions: pd.DatetimeIndex) -> Array:
    """``(T,)`` value of ``series_id`` as known at each of ``sessions`` (NaN: none or stale).

    Among rows with ``known_date <= s``: the latest observation date, and for it the latest
    revision. NaN values (FRED's ".") are skipped, so a holiday leaves the previous value.
    """
    rows = macro[(macro["series_id"] == series_id) & macro["value"].notna()]
    out = np.full(len(sessions), np.nan)
    if rows.empty:
        return out
    rows = rows.sort_values(["known_date", "date"], kind="stable")
    observed = rows["date"].to_numpy(dtype="datetime64[ns]")
    known = rows["known_date"].to_numpy(dtype="datetime64[ns]")
    values = rows["value"].to_numpy(dtype=float)
    # best[i]: the row with the latest observation date among rows[: i + 1] (a later row
    # for the same date is a later revision, so it wins the tie)
    newest = np.maximum.accumulate(observed)
    best = np.maximum.accumulate(np.where(observed == newest, np.arange(len(rows)), -1))
    last_of_day = np.r_[known[1:] != known[:-1], True]
    known, best = known[last_of_day], best[last_of_day]
    at = np.searchsorted(known, sessions.to_numpy(dtype="datetime64[ns]"), side="right") - 1
    found = at >= 0
    pick = best[at[found]]
    age = sessions.to_numpy(dtype="datetime64[ns]")[found] - observed[pick]
    out[found] = np.where(age <= np.timedelta64(MAX_AGE_DAYS, "D"), values[pick], np.nan)
    return out


def lagged_series(panel: WidePanel, macro: pd.DataFrame) -> dict[str, Array]:
    """Input name -> ``(T, 1)`` value as known at the previous panel session."""
    return {
        name: shift(as_known(macro, series_id, panel.dates)[:, None])
        for name, series_id in SERIES_INPUTS.items()
    }


def macro_columns(panel: WidePanel, macro: pd.DataFrame) -> dict[str, Array]:
    """The ``COLUMNS`` as ``(T, 1)`` arrays, every one T-1."""
    known = lagged_series(panel, macro)
    dgs10, dgs2, dollar, vix, btc = (known[n] for n in SERIES_INPUTS)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "curve_slope_10y2y": dgs10 - dgs2,
            "dgs10_change_5d": dgs10 - shift(dgs10, 5),
            "dgs2_change_5d": dgs2 - shift(dgs2, 5),
            "dollar_ret_5d": dollar / shift(dollar, 5) - 1.0,
            "dollar_ret_20d": dollar / shift(dollar, 20) - 1.0,
            "vixcls_level": vix,
            "vixcls_change_5d": vix / shift(vix, 5) - 1.0,
            "btc_ret_5d": btc / shift(btc, 5) - 1.0,
            "btc_ret_20d": btc / shift(btc, 20) - 1.0,
        }


def macro_presence(panel: WidePanel, macro: pd.DataFrame) -> dict[str, Array]:
    """Input name -> ``(T, 1)`` bool: the row has a (T-1) value of that series."""
    return {name: np.isfinite(values) for name, values in lagged_series(panel, macro).items()}
