"""Tuning: a seeded study on the run's rows, pruning on fold scores, trials on a Dask
scheduler, every trial counted for the Deflated Sharpe, the run trained with the best."""

from __future__ import annotations

import os
import signal
from contextlib import closing
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from engine import workflows
from engine.features.panel import to_wide
from engine.modeling import tuning as tuning_module
from engine.modeling.learners import LearnerParams
from engine.modeling.training import TrainConfig, build_dataset
from engine.modeling.tuning import TuningConfig, evaluate_trial, run_study
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.tuning import study_storage
from store.db import open_db
from store.trials import TrialRepository

CONFIG = TrainConfig(
    tickers=("AAPL", "KO", "XOM", "JPM"),
    start=pd.Timestamp("2014-01-01"),
    as_of=pd.Timestamp("2017-06-30"),
    train_months=12,
    test_months=6,
    n_boot=20,
    learner=LearnerParams(n_estimators=20, learning_rate=0.1, max_depth=3, min_child_weight=5),
)
TUNING = TuningConfig(n_trials=3, max_rounds=20, startup_trials=1)


def trial_count(db: Path) -> int:
    with closing(open_db(db)) as store:
        return TrialRepository(store).summary()[0]


@pytest.fixture(scope="module")
def rows(_seeded_template, tmp_path_factory):
    # a copy: reading a snapshot fills the store's feature cache, and the template is shared
    db = tmp_path_factory.mktemp("tuning") / "rows.db"
    db.write_bytes(_seeded_template.read_bytes())
    snapshot = build_snapshot(db, CONFIG.tickers, CONFIG.as_of)
    data = build_dataset(snapshot.features, snapshot.prices, snapshot.regimes["regime_id"], CONFIG)
    prices = snapshot.prices[snapshot.prices["ticker"].isin(CONFIG.tickers)]
    return data, to_wide(prices[prices["date"] <= CONFIG.as_of])


def test_a_tuned_run_is_trained_with_the_best_settings_and_counts_every_trial(
    seeded_db: Path,
) -> None:
    before = trial_count(seeded_db)
    storage = study_storage(seeded_db)
    killed = optuna.create_study(study_name="tune-killed", storage=storage)
    killed.ask()  # the trial an earlier job was running when it was killed outright
    lines = []
    record = workflows.train_model(
        seeded_db, CONFIG, tuning=TUNING, progress=lambda f, text: lines.append(text)
    )
    study = record.metrics["tuning"]
    assert study["n_trials"] == 3 and study["study_name"] == f"tune-{record.run_id}"
    assert study["objective"] == "mean daily rank IC" and np.isfinite(study["best_value"])
    assert sum("Tuning trial" in text for text in lines) == 3
    # the registered run is trained with the best trial's settings, and says so
    learner = record.params["learner"]
    assert {k: learner[k] for k in study["best_params"]} == study["best_params"]
    assert record.metrics["rank_ic"]["mean"]["estimate"] == pytest.approx(study["best_value"])
    stored = optuna.load_study(study_name=study["study_name"], storage=study_storage(seeded_db))
    assert len(stored.trials) == 3 and stored.best_value == pytest.approx(study["best_value"])
    assert trial_count(seeded_db) == before + 3
    # the study started under the training lock: what a dead job left RUNNING is failed
    left = optuna.load_study(study_name="tune-killed", storage=storage).trials
    assert [t.state for t in left] == [optuna.trial.TrialState.FAIL]
    # the backtest's Deflated Sharpe counts them, and says how many chose this run
    outcome = workflows.run_model_backtest(seeded_db, record.run_id, n_boot=20)
    assert outcome.n_trials >= before + 4 and outcome.tuning_trials == 3


def test_a_trial_behind_the_median_of_earlier_ones_is_pruned_after_its_first_fold(rows) -> None:
    data, panel = rows
    strong = optuna.trial.create_trial(value=1.0, intermediate_values=dict.fromkeys(range(10), 1.0))
    scores, value, pruned, returns = evaluate_trial(
        data, panel, CONFIG.learner, CONFIG.splitter(), history=[strong], startup_trials=1
    )
    assert pruned and len(scores) == 1 and np.isnan(value)
    assert len(returns) > 20  # the fold it ran is still traded and counted


@pytest.mark.timeout(240)
def test_trials_run_on_a_dask_scheduler(rows) -> None:
    from distributed import LocalCluster  # noqa: PLC0415

    data, panel = rows
    seen = []
    with LocalCluster(
        processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        tuning = TuningConfig(
            n_trials=2, max_rounds=20, scheduler_address=cluster.scheduler_address
        )
        result = run_study(
            data,
            panel,
            CONFIG.learner,
            CONFIG.splitter(),
            tuning,
            study_name="dask",
            on_trial=seen.append,
        )
    assert [o.number for o in seen] == [0, 1] and len(result.outcomes) == 2
    assert result.best_value == max(o.value for o in seen)


def test_the_same_seed_draws_the_same_trials(rows) -> None:
    data, panel = rows
    config = TuningConfig(n_trials=1, max_rounds=20, seed=7)
    first, second = (
        run_study(data, panel, CONFIG.learner, CONFIG.splitter(), config, study_name=name)
        for name in ("a", "b")
    )
    assert first.outcomes[0].params == second.outcomes[0].params
    assert first.best_value == second.best_value


@pytest.mark.parametrize("moment", ["asked", "told"])
def test_a_cancel_while_the_study_is_written_leaves_no_trial_running(
    rows, tmp_path, monkeypatch, moment
) -> None:
    """The job's SIGTERM handler raises SystemExit wherever it lands; here it lands while
    the second trial is being asked for (its settings drawn) or told (its result stored)."""
    data, panel = rows
    wrapped = "suggest" if moment == "asked" else "_tell"
    real, calls = getattr(tuning_module, wrapped), []

    def cancel_during(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    def cancelled(signum, frame) -> None:
        raise SystemExit("cancelled")

    monkeypatch.setattr(tuning_module, wrapped, cancel_during)
    storage = f"sqlite:///{tmp_path / 'study.sqlite'}"
    counted = []
    previous = signal.signal(signal.SIGTERM, cancelled)
    try:
        with pytest.raises(SystemExit, match="cancelled"):
            run_study(
                data,
                panel,
                CONFIG.learner,
                CONFIG.splitter(),
                TuningConfig(n_trials=5, max_rounds=20, startup_trials=1),
                study_name="cancelled",
                storage=storage,
                on_trial=counted.append,
            )
    finally:
        signal.signal(signal.SIGTERM, previous)
    trials = optuna.load_study(study_name="cancelled", storage=storage).trials
    states = [t.state for t in trials]
    assert len(trials) == 2 and optuna.trial.TrialState.RUNNING not in states
    # a trial asked is failed; a trial told is counted (for the Deflated Sharpe) as well
    assert (states[1] == optuna.trial.TrialState.FAIL) == (moment == "asked")
    assert [o.number for o in counted] == ([0] if moment == "asked" else [0, 1])


TREE_SETTINGS = {
    "learning_rate",
    "max_depth",
    "min_child_weight",
    "subsample",
    "colsample_bytree",
    "n_estimators",
    "top_k",
}


@pytest.mark.parametrize(
    ("learner", "settings"),
    [
        ("xgboost", TREE_SETTINGS),
        ("lightgbm", TREE_SETTINGS),
        ("linear", {"l2_penalty", "top_k"}),
        ("mlp", {"l2_penalty", "hidden_units", "step_size", "top_k"}),
    ],
)
def test_each_family_is_tuned_over_the_settings_it_uses(learner, settings) -> None:
    # before: a linear study drew tree settings the linear model never reads
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).ask()
    drawn = tuning_module.suggest(trial, LearnerParams(learner=learner), TUNING)
    assert set(trial.params) == settings
    assert {name: getattr(drawn, name) for name in settings} == trial.params
    assert drawn.learner == learner
