"""Every feature column as a one-factor signal: its own per-date rank IC, vectorized
across columns (one ``engine.metrics.cross_sectional_ic`` call on a (D, K, N) array)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.metrics import IC_BLOCK, N_BOOT, cross_sectional_ic, ic_summary
from engine.modeling.factors import PanelLayout

MARKET_WIDE_NOTE = "same for every stock on a date"
TABLE_COLUMNS = [
    "feature",
    "family",
    "mean_rank_ic",
    "low",
    "high",
    "icir",
    "t_stat",
    "dates",
    "note",
]


def _families(columns: list[str], families: dict[str, str] | None) -> list[str]:
    if families is None:
        from engine.features.registry import column_specs  # noqa: PLC0415 - heavy registry

        families = {name: family for name, (family, _) in column_specs().items()}
    return [families.get(c, "other") for c in columns]


def feature_rank_ic(features: pd.DataFrame, forward_returns: pd.Series) -> pd.DataFrame:
    """Per date and column, the rank IC of the column against the forward return.

    Parameters
    ----------
    features : DataFrame of shape (n, K), indexed by (ticker, date)
        Values at each date (data <= date only).
    forward_returns : Series of shape (n,)
        Forward return of the label starting at each date; aligned to ``features``.

    Returns
    -------
    DataFrame of shape (D, K), indexed by date
        NaN where a column has fewer than 3 names with a return, or no dispersion.
    """
    layout = PanelLayout.of(features.index)
    values = features.to_numpy(dtype=float)
    wide = np.full((len(layout.dates), values.shape[1], len(layout.tickers)), np.nan)
    wide[layout.date_code, :, layout.ticker_code] = values
    r = layout.wide(forward_returns.reindex(features.index).to_numpy(dtype=float))
    rank_ic = cross_sectional_ic(wide, r, pearson=False)["rank_ic"]
    frame = pd.DataFrame(rank_ic, index=layout.dates, columns=features.columns)
    finite = np.isfinite(wide)
    varies = np.where(finite, wide, -np.inf).max(axis=2) > np.where(finite, wide, np.inf).min(
        axis=2
    )  # (D, K): the column differs across names on that date
    frame.attrs["market_wide"] = list(features.columns[~varies.any(axis=0)])
    return frame


def feature_ic_table(
    features: pd.DataFrame,
    forward_returns: pd.Series,
    *,
    families: dict[str, str] | None = None,
    block: int = IC_BLOCK,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> pd.DataFrame:
    """Each feature column's rank IC as a one-factor signal, strongest first.

    Parameters
    ----------
    features : DataFrame of shape (n, K), indexed by (ticker, date)
    forward_returns : Series of shape (n,)
        Forward return over the label horizon starting at each date, known at its end.
    families : dict, optional
        Column -> family name (default: the feature registry's ``column_specs``;
        columns it does not know are "other").
    block : int
        Moving-block length of the intervals (``engine.metrics.IC_BLOCK``).
    n_boot, seed : int
        Replicates and seed of each column's moving-block bootstrap interval
        (``engine.metrics.ic_summary``; one arch run per column). ``n_boot=0`` skips the
        intervals (NaN bounds).

    Returns
    -------
    DataFrame of shape (K, 9)
        feature, family, mean_rank_ic, low, high, icir, t_stat (mean / (std /
        sqrt(dates))), dates (with a rank IC), note. A column that is the same for every
        stock on every date (index returns, the regime) has no rank IC: NaN with the
        note "same for every stock on a date", not zero. Sorted by |mean_rank_ic|,
        those last.
    """
    daily = feature_rank_ic(features, forward_returns)
    market_wide = set(daily.attrs["market_wide"])
    rows = []
    names = _families(list(features.columns), families)
    for column, family in zip(features.columns, names, strict=True):
        series = daily[column].dropna()
        note = MARKET_WIDE_NOTE if column in market_wide else ""
        mean = float(series.mean()) if len(series) else np.nan
        low = high = icir = np.nan
        if n_boot > 0 and len(series):
            summary = ic_summary(series, block=block, n_boot=n_boot, seed=seed)
            low, high, icir = summary["mean"].low, summary["mean"].high, summary["icir"]
        elif len(series) > 1 and series.std(ddof=1) > 0:
            icir = mean / float(series.std(ddof=1))
        t_stat = icir * np.sqrt(len(series)) if np.isfinite(icir) else np.nan
        rows.append((column, family, mean, low, high, icir, t_stat, len(series), note))
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    order = table["mean_rank_ic"].abs().sort_values(ascending=False, na_position="last").index
    return table.loc[order].reset_index(drop=True)
