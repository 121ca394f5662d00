"""Forecasts with reasons from a registered model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.modeling.explain import (
    FORECAST_COLUMNS,
    Thresholds,
    compute_forecast_frame,
    compute_reasons,
)
from engine.modeling.learner import REGIME_COLUMN
from engine.workflows.data import DbPath
from engine.workflows.features import load_features
from engine.workflows.runs import load_model


def forecast(
    db_path: DbPath,
    tickers: Sequence[str],
    as_of: pd.Timestamp,
    *,
    run_id: str | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Calibrated forecasts with reasons for ``tickers`` from their last session <= as_of.

    Indexed by ticker; columns ``date`` (the session forecast from), FORECAST_COLUMNS and
    ``run_id``. Tickers with no stored session on or before ``as_of`` are left out.
    """
    model, record = load_model(db_path, run_id)
    trained = (record.get("params") or {}).get("as_of")
    if trained is not None and pd.Timestamp(trained) > pd.Timestamp(as_of):
        raise ValueError(
            f"run {record['run_id']} was trained as of {pd.Timestamp(trained):%Y-%m-%d}, after "
            f"{pd.Timestamp(as_of):%Y-%m-%d}: it has seen outcomes a forecast on that date could "
            "not know. Pick a run trained on or before it, or a later as-of date."
        )
    features = load_features(db_path, list(tickers))
    dates = features.index.get_level_values("date")
    past = features[dates <= pd.Timestamp(as_of)]
    if past.empty:
        return pd.DataFrame(columns=["date", *FORECAST_COLUMNS, "run_id"])
    rows = past.groupby(level="ticker").tail(1)
    p_up = model.predict_proba(rows)
    reasons = compute_reasons(model.contributions(rows), rows)
    regimes = (
        rows[REGIME_COLUMN].to_numpy() if REGIME_COLUMN in rows else np.full(len(rows), np.nan)
    )
    frame = compute_forecast_frame(p_up, reasons, regimes, model.outcome_returns_, thresholds)
    frame.insert(0, "date", rows.index.get_level_values("date"))
    frame.index = rows.index.get_level_values("ticker")
    return frame.assign(run_id=record["run_id"])
