"""Forecasts with reasons from a registered model, on an as-of snapshot."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.modeling.explain import (
    FORECAST_COLUMNS,
    Thresholds,
    compute_forecast_frame,
    compute_reasons,
    compute_relative_reasons,
)
from engine.modeling.selection import REGIME_COLUMN
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import AsOfSnapshot
from engine.workflows.modeling.runs import load_model_as_of


def forecast(
    db_path: DbPath,
    snapshot: AsOfSnapshot,
    *,
    run_id: str | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Calibrated forecasts with reasons for the snapshot's tickers from their last session
    on or before its as-of date, by the active (or a chosen) run. A cross-sectional run
    ranks the tickers that have a row on the newest session (the others are left out) and
    explains each one relative to the average of them.

    The run is refused (LookaheadError) when it is trained through a date after the as-of
    date (with no as-of date: after the newest stored session of the tickers).

    Returns
    -------
    DataFrame indexed by ticker; columns ``date`` (the session forecast from),
    FORECAST_COLUMNS and ``run_id``. Tickers with no stored session then are left out.
    """
    as_of = snapshot.as_of if snapshot.as_of is not None else snapshot.last_session
    empty = pd.DataFrame(columns=["date", *FORECAST_COLUMNS, "run_id"])
    if as_of is None:
        return empty
    model, record = load_model_as_of(db_path, as_of, run_id)
    rows = snapshot.latest_features(model.params.families)
    if model.params.cross_sectional and not rows.empty:
        # a ranking compares the tickers on one session: the newest one (stale tickers,
        # whose last row is older, are left out rather than ranked against another day)
        dates = rows.index.get_level_values("date")
        rows = rows[dates == dates.max()]
    if rows.empty:
        return empty
    predictions = model.explained_predictions(rows)
    if model.params.cross_sectional:
        reasons = compute_relative_reasons(predictions.contributions, rows)
    else:
        reasons = compute_reasons(predictions.contributions, rows)
    regimes = (
        rows[REGIME_COLUMN].to_numpy() if REGIME_COLUMN in rows else np.full(len(rows), np.nan)
    )
    frame = compute_forecast_frame(
        predictions.probability,
        reasons,
        regimes,
        model.outcome_returns_,
        thresholds,
        scores=predictions.score,
    )
    frame.insert(0, "date", rows.index.get_level_values("date"))
    frame.index = rows.index.get_level_values("ticker")
    return frame.assign(run_id=record.run_id)
