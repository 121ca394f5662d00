"""First launch: a new store gets the sample and an active model; a second launch reuses
both, and a store whose user already has a model keeps it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from engine import workflows
from engine.modeling.training import TrainConfig
from engine.workflows.first_launch import FIRST_START, default_config, ensure_ready

SMALL = TrainConfig(
    tickers=("AAPL", "KO", "XOM", "JPM", "MSFT"),
    start=pd.Timestamp("2014-01-01"),
    as_of=pd.Timestamp("2017-06-30"),
    train_months=12,
    test_months=6,
    n_boot=20,
)


def test_a_new_store_is_seeded_and_gets_an_active_model_once(tmp_path: Path) -> None:
    db = tmp_path / "new.db"
    messages: list[str] = []
    first = ensure_ready(db, config=SMALL, progress=lambda f, text: messages.append(text))
    assert first.seeded_s is not None and first.trained_s is not None
    active = workflows.active_run(db)
    assert active is not None and active.run_id == first.run_id
    assert active.run_id.startswith("first-launch-") and active.status == "complete"
    assert "trained" in first.message and any("Fold" in m for m in messages)
    snapshot = workflows.build_snapshot(db, list(SMALL.tickers), pd.Timestamp("2017-06-30"))
    forecasts = workflows.forecast(db, snapshot)
    assert sorted(forecasts.index) == sorted(SMALL.tickers)
    assert (forecasts["run_id"] == first.run_id).all()

    again = ensure_ready(db, config=SMALL)
    assert again.seeded_s is None and again.trained_s is None
    assert again.run_id == first.run_id and "nothing to do" in again.message
    assert len(workflows.load_runs(db)) == 1


def test_a_store_with_a_model_is_left_alone(seeded_db: Path) -> None:
    record = workflows.train_model(seeded_db, SMALL)  # complete but not made active
    result = ensure_ready(seeded_db, config=SMALL)
    assert result.trained_s is None and result.run_id is None
    assert workflows.active_run(seeded_db) is None
    assert workflows.load_runs(seeded_db)["run_id"].tolist() == [record.run_id]


def test_the_default_model_is_the_readmes_run(seeded_db: Path) -> None:
    config = default_config(seeded_db)
    assert config.tickers == tuple(workflows.load_watchlist(seeded_db, workflows.DEFAULT_WATCHLIST))
    assert config.start == FIRST_START and config.learner.kind == "classifier"
    assert config.label.kind == "relative"
    assert ensure_ready(seeded_db, train=False).trained_s is None
    assert workflows.active_run(seeded_db) is None
