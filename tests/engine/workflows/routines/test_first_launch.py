"""First launch: a new store is seeded at once and its default model trains as a background
job, made active when it registers; a second launch starts no second job, and a store
whose user already has a model keeps it."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import pandas as pd

from engine import workflows
from engine.modeling.training import TrainConfig
from engine.workflows.__main__ import main as seed_command
from engine.workflows.modeling.jobs import wait_for_training
from engine.workflows.routines.first_launch import (
    FIRST_START,
    FirstLaunch,
    default_config,
    ensure_ready,
)
from store.db import open_db
from store.models import ModelRunRepository

SMALL = TrainConfig(
    tickers=("AAPL", "KO", "XOM", "JPM", "MSFT"),
    start=pd.Timestamp("2014-01-01"),
    as_of=pd.Timestamp("2017-06-30"),
    train_months=12,
    test_months=6,
    n_boot=20,
)
JOB_S = 900  # generous: a loaded 2-core machine; the job takes seconds when it is quiet


def test_a_new_store_is_seeded_and_its_default_model_trains_in_the_background(
    tmp_path: Path,
) -> None:
    db = tmp_path / "new.db"
    first = ensure_ready(db, config=SMALL)
    assert first.seeded_s is not None and first.started.startswith("first-launch-")
    assert "training in the background" in first.message
    assert workflows.active_run(db) is None  # returned before the model exists

    record = wait_for_training(db, first.started, timeout_s=JOB_S)
    assert record.status == "complete", record.message
    active = workflows.active_run(db)
    assert active is not None and active.run_id == first.started
    assert workflows.first_model_training(db) is None
    snapshot = workflows.build_snapshot(db, list(SMALL.tickers), pd.Timestamp("2017-06-30"))
    forecasts = workflows.forecast(db, snapshot)
    assert sorted(forecasts.index) == sorted(SMALL.tickers)
    assert (forecasts["run_id"] == first.started).all()

    again = ensure_ready(db, config=SMALL)
    assert again == FirstLaunch(None, None, None)
    assert "nothing to do" in again.message
    assert len(workflows.load_runs(db)) == 1


def test_a_launch_while_a_job_runs_starts_none(seeded_db: Path) -> None:
    with closing(open_db(seeded_db)) as db:  # a live process (this one) holds the lock
        ModelRunRepository(db).acquire_lock("first-launch-20990101-000000", os.getpid())
    result = ensure_ready(seeded_db, config=SMALL)
    assert result.started is None and result.running == "first-launch-20990101-000000"
    assert "already running" in result.message
    job = workflows.first_model_training(seeded_db)
    assert job is not None and job.run_id == "first-launch-20990101-000000"
    assert workflows.load_runs(seeded_db).empty


def test_launches_at_the_same_moment_start_one_job(seeded_db: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: ensure_ready(seeded_db, config=SMALL), range(4)))
    started = [r.started for r in results if r.started is not None]
    assert len(started) == 1
    try:
        assert {r.running for r in results if r.started is None} <= {started[0], None}
    finally:
        assert wait_for_training(seeded_db, started[0], timeout_s=JOB_S).status == "complete"
    assert workflows.load_runs(seeded_db)["run_id"].tolist() == started


def test_a_store_with_a_model_is_left_alone(seeded_db: Path) -> None:
    record = workflows.train_model(seeded_db, SMALL)  # complete but not made active
    result = ensure_ready(seeded_db, config=SMALL)
    assert result.started is None and result.running is None
    assert workflows.active_run(seeded_db) is None
    assert workflows.first_model_training(seeded_db) is None
    assert workflows.load_runs(seeded_db)["run_id"].tolist() == [record.run_id]


def test_the_first_model_does_not_replace_a_run_made_active_meanwhile(seeded_db: Path) -> None:
    chosen = workflows.train_model(seeded_db, SMALL)
    workflows.activate_run(seeded_db, chosen.run_id)
    later = workflows.train_model(seeded_db, SMALL, activate_if_none=True)
    assert later.status == "complete" and workflows.active_run(seeded_db).run_id == chosen.run_id


def test_the_default_model_is_the_readmes_run(seeded_db: Path) -> None:
    config = default_config(seeded_db)
    assert config.tickers == tuple(workflows.load_watchlist(seeded_db, workflows.DEFAULT_WATCHLIST))
    assert config.start == FIRST_START and config.learner.kind == "classifier"
    assert config.label.kind == "relative"
    assert ensure_ready(seeded_db, train=False).started is None
    assert workflows.first_model_training(seeded_db) is None
    assert workflows.active_run(seeded_db) is None


def test_the_seed_command_uses_the_store_setting_without_a_db_argument(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    # before: `python -m engine.workflows seed` (what `make run` does) passed no path on and
    # failed on every fresh clone
    store = tmp_path / "from-setting.db"
    monkeypatch.setenv("WORKBENCH_DB", str(store))
    seed_command(["seed", "--no-train"])
    assert "store built from the offline sample" in capsys.readouterr().out
    assert workflows.load_watchlists(store)["name"].tolist()  # the sample's watchlists
