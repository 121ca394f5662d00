"""The drift monitor for a registered model: recent features against its training
baseline, and the recent forecasts whose outcome is known."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.alerts import AlertSettings
from engine.metrics import sharpe
from engine.modeling.artifacts import FEATURE_BASELINE, read_predictions
from engine.modeling.training import TrainConfig
from engine.studies.drift import (
    DriftThresholds,
    feature_drift,
    recommend_retrain,
    rolling_forecast_quality,
    sign_pnl,
)
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.runs import load_model_as_of, load_oos_predictions
from engine.workflows.platform.alerts import drift_alert


@dataclass(frozen=True)
class MonitorReport:
    run_id: str
    as_of: pd.Timestamp
    drift: pd.DataFrame
    quality: pd.DataFrame
    baseline_sharpe: float
    retrain: bool
    reasons: tuple[str, ...]


def _sign_sharpe(frame: pd.DataFrame) -> float:
    """Annualized Sharpe of trading each forecast's sign, averaged per date."""
    return sharpe(sign_pnl(frame).dropna().to_numpy())


def monitor_model(
    db_path: DbPath,
    as_of: pd.Timestamp,
    *,
    run_id: str | None = None,
    window: int = 63,
    thresholds: DriftThresholds | None = None,
    alerts: AlertSettings | None = None,
) -> MonitorReport:
    """Drift of the last ``window`` sessions up to ``as_of`` and the rolling quality of
    forecasts whose outcome was known by then, for the active (or a chosen) run. A retrain
    recommendation raises an alert through ``alerts`` (once per run and date)."""
    as_of = pd.Timestamp(as_of)
    model, record = load_model_as_of(db_path, as_of, run_id)
    config = TrainConfig.from_dict(record.params)
    baseline = read_predictions(Path(record.artifact_dir), record.files, FEATURE_BASELINE)
    oos, _ = load_oos_predictions(db_path, record.run_id)
    snapshot = build_snapshot(db_path, config.tickers, as_of)
    features = snapshot.features_for(config.learner.families)
    sessions = np.sort(features.index.get_level_values("date").unique())
    if len(sessions) == 0:
        raise ValueError(f"no stored features for the run's tickers on or before {as_of:%Y-%m-%d}")
    recent = features[features.index.get_level_values("date") >= sessions[-window]]
    drift = feature_drift(baseline, recent, thresholds)
    # the run's own labels (kind, horizon, barriers), outcomes known by as_of only
    known = snapshot.labels(config.label).dropna(subset=["label"])
    span = features[features.index.get_level_values("date") >= sessions[-3 * window]]
    rows = span.join(known[["label", "ret"]], how="inner")
    outcomes = pd.DataFrame(
        {"p": model.predict_proba(rows)[:, 1], "label": rows["label"], "ret": rows["ret"]},
        index=rows.index,
    )
    quality = rolling_forecast_quality(outcomes, window)
    baseline_sharpe = _sign_sharpe(oos)
    retrain, reasons = recommend_retrain(drift, quality, baseline_sharpe, thresholds)
    if retrain:  # ALERT: a drift recommendation to retrain
        drift_alert(db_path, record.run_id, as_of, tuple(reasons), alerts)
    return MonitorReport(
        record.run_id, as_of, drift, quality, baseline_sharpe, retrain, tuple(reasons)
    )
