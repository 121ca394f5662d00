"""One ticker at one date: every feature with its percentile, and what each family lacks.

Percentiles are against the ticker's own history up to that date (rows <= t only), so a
reading is judged by what was knowable then.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.schema import VALUE_COLUMNS
from engine.features.base import CONTEXT_INPUTS, FeatureParams
from engine.features.registry import FAMILIES, availability_column, family_columns

READING_COLUMNS = ("family", "feature", "value", "percentile", "description")
AVAILABILITY_COLUMNS = ("family", "title", "status", "share", "missing_inputs")


def compute_feature_readings(
    features: pd.DataFrame,
    date: pd.Timestamp,
    families: tuple[str, ...] | None = None,
    params: FeatureParams | None = None,
) -> pd.DataFrame:
    """Value at the last row dated <= ``date`` and its percentile (0-100) in the history.

    Parameters
    ----------
    features : DataFrame indexed by date (one ticker), columns as ``compute_features``.
    """
    history = features.loc[: pd.Timestamp(date)]
    if history.empty:
        return pd.DataFrame(columns=list(READING_COLUMNS))
    rows = []
    for family in families or tuple(FAMILIES):
        for spec in family_columns(family, params):
            if spec.name not in history:
                continue
            past = history[spec.name].dropna()
            value = history[spec.name].iloc[-1]
            percentile = (
                100.0 * (past <= value).mean() if np.isfinite(value) and len(past) else np.nan
            )
            rows.append((FAMILIES[family].title, spec.name, value, percentile, spec.description))
    return pd.DataFrame(rows, columns=list(READING_COLUMNS))


def compute_family_availability(
    features: pd.DataFrame,
    prices: pd.DataFrame,
    date: pd.Timestamp,
    params: FeatureParams | None = None,
) -> pd.DataFrame:
    """Per family: available / partial / unavailable at ``date`` and which inputs are missing.

    ``prices`` are the ticker's normalized rows; the inputs named are the price fields the
    ticker's source lacks on that date, else the context inputs of the columns that are NaN
    there (news, dgs10, ...; "market data" when none is named).
    """
    row_features = features.loc[: pd.Timestamp(date)]
    row_prices = prices[prices["date"] <= pd.Timestamp(date)]
    if row_features.empty or row_prices.empty:
        return pd.DataFrame(columns=list(AVAILABILITY_COLUMNS))
    last_features, last_prices = row_features.iloc[-1], row_prices.iloc[-1]
    absent = {field for field in VALUE_COLUMNS if pd.isna(last_prices[field])}
    rows = []
    for family, spec in FAMILIES.items():
        column = availability_column(family)
        if column not in last_features:
            continue
        share = float(last_features[column])
        missing = set()
        if share < 1:
            specs = family_columns(family, params)
            for col in specs:
                missing |= set(col.needs) & absent
            if not missing:  # then the context is what is missing
                missing = {
                    need
                    for col in specs
                    if col.name in last_features and pd.isna(last_features[col.name])
                    for need in col.needs
                    if need in CONTEXT_INPUTS
                } or {"market data"}
        status = "available" if share >= 1 else "unavailable" if share == 0 else "partial"
        rows.append((family, spec.title, status, share, ", ".join(sorted(missing))))
    return pd.DataFrame(rows, columns=list(AVAILABILITY_COLUMNS))
