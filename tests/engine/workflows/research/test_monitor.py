"""The drift monitor judges a run by its own labels (kind, horizon, barriers)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from engine import workflows
from engine.modeling.labels import LabelParams
from engine.studies.drift import DriftThresholds, rolling_forecast_quality
from tests.builders import SMALL_TRAIN

AS_OF = pd.Timestamp("2018-12-31")
TRIPLE = dataclasses.replace(
    SMALL_TRAIN,
    tickers=SMALL_TRAIN.tickers[:4],
    start=pd.Timestamp("2015-06-01"),
    label=LabelParams(kind="triple_barrier", horizon=10),
    learner=dataclasses.replace(SMALL_TRAIN.learner, kind="market_timing"),
)


def quality_with(snapshot, model, label: LabelParams, window: int) -> pd.DataFrame:
    """The rolling quality the monitor reports, computed here with ``label``."""
    features = snapshot.features
    sessions = features.index.get_level_values("date").unique().sort_values()
    span = features[features.index.get_level_values("date") >= sessions[-3 * window]]
    known = snapshot.labels(label).dropna(subset=["label"])
    rows = span.join(known[["label", "ret"]], how="inner")
    outcomes = pd.DataFrame(
        {"p": model.predict_proba(rows)[:, 1], "label": rows["label"], "ret": rows["ret"]},
        index=rows.index,
    )
    return rolling_forecast_quality(outcomes, window)


def test_a_triple_barrier_run_is_monitored_with_triple_barrier_labels(seeded_db) -> None:
    record = workflows.train_model(seeded_db, TRIPLE)
    report = workflows.monitor_model(seeded_db, AS_OF, run_id=record.run_id, window=21)
    model, _ = workflows.load_model(seeded_db, record.run_id)
    snapshot = workflows.build_snapshot(seeded_db, TRIPLE.tickers, AS_OF)
    own = quality_with(snapshot, model, TRIPLE.label, 21)
    direction = quality_with(snapshot, model, LabelParams(kind="direction", horizon=10), 21)
    pd.testing.assert_frame_equal(report.quality, own)
    with pytest.raises(AssertionError):  # the default labels would have judged it otherwise
        pd.testing.assert_frame_equal(report.quality, direction)
    assert report.quality["hit_rate"].notna().sum() > 20


def test_a_retrain_recommendation_alerts_once_per_run_and_date(seeded_db) -> None:
    record = workflows.train_model(seeded_db, TRIPLE)
    alerts = workflows.AlertSettings()  # no channel: recorded, sent nowhere
    strict = DriftThresholds(psi=0.0, drifted_share=0.0)  # any drift recommends a retrain
    for _ in range(2):
        report = workflows.monitor_model(
            seeded_db, AS_OF, run_id=record.run_id, window=21, thresholds=strict, alerts=alerts
        )
        assert report.retrain
    log = workflows.load_alerts(seeded_db)
    assert log["kind"].tolist() == ["drift_retrain"]
    assert log.loc[0, "title"] == f"Retraining recommended for run {record.run_id} (2018-12-31)"
