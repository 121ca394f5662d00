"""Tuning a training run's learner: the Optuna study on the run's own training rows, its
storage beside the store, and every trial counted for the Deflated Sharpe."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import optuna
import pandas as pd

from engine.data.schema import Progress
from engine.features.panel import to_wide
from engine.modeling.interrupts import fail_running_trials
from engine.modeling.training import TrainConfig
from engine.modeling.tuning import TuningConfig, TuningResult, run_study
from engine.workflows.data.prices import DbPath, store_path
from engine.workflows.modeling.trials import record_trial


def _storage_path(db_path: DbPath) -> Path:
    path = Path(db_path or store_path()).resolve()
    return path.with_name(path.name + ".optuna.sqlite")


def study_storage(db_path: DbPath) -> str:
    """Optuna's RDB storage for the store at ``db_path``: ``<db>.optuna.sqlite`` beside it
    (one study per tuned run, named ``tune-<run_id>``)."""
    return f"sqlite:///{_storage_path(db_path)}"


def fail_abandoned_trials(db_path: DbPath, run_id: str | None = None) -> dict[str, tuple[int, ...]]:
    """Mark failed the trials a dead training job left RUNNING in the study storage.

    A job that is killed outright (SIGKILL, a crash, the machine) cannot mark its running
    trial failed itself. Call this only when no job can be tuning: with the training lock
    held, or for the run of a lock whose process is gone.

    Parameters
    ----------
    db_path : DbPath
        The store; its study storage is ``study_storage(db_path)``. Where that file does
        not exist nothing is done (and nothing is created).
    run_id : str, optional
        Only the study of this run (``tune-<run_id>``); None: every study in the storage.

    Returns
    -------
    dict of str to tuple of int
        For each study that had any, the numbers of the trials marked failed.
    """
    if not _storage_path(db_path).exists():
        return {}
    storage = optuna.storages.RDBStorage(study_storage(db_path))
    names = optuna.get_all_study_names(storage)
    if run_id is not None:
        names = [name for name in names if name == f"tune-{run_id}"]
    failed = {}
    for name in names:
        numbers = fail_running_trials(optuna.load_study(study_name=name, storage=storage))
        if numbers:
            failed[name] = numbers
    return failed


def tune_config(
    db_path: DbPath,
    data: pd.DataFrame,
    prices: pd.DataFrame,
    config: TrainConfig,
    *,
    tuning: TuningConfig,
    run_id: str,
    progress: Progress | None = None,
) -> tuple[TrainConfig, TuningResult]:
    """``config`` with the learner settings of the study's best trial, and the study.

    ``data`` are the run's labelled rows (``build_dataset``) and ``prices`` its stored
    prices; each trial walks forward on ``data`` with the run's splitter and is recorded
    as a trial (kind "tuning") with the daily returns of trading its forecasts. The caller
    holds the training lock, so trials left RUNNING in the storage by an earlier job that
    died are marked failed first (``fail_abandoned_trials``)."""
    fail_abandoned_trials(db_path)
    last = data.index.get_level_values("date").max()
    panel = to_wide(prices[prices["ticker"].isin(config.tickers) & (prices["date"] <= last)])
    name = f"tune-{run_id}"

    def count(outcome) -> None:
        record_trial(db_path, "tuning", f"{name} #{outcome.number}", outcome.returns)

    result = run_study(
        data,
        panel,
        config.learner,
        config.splitter(),
        tuning,
        study_name=name,
        storage=study_storage(db_path),
        on_trial=count,
        progress=progress,
    )
    return dataclasses.replace(config, learner=result.learner), result
