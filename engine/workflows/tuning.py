"""Tuning a training run's learner: the Optuna study on the run's own training rows, its
storage beside the store, and every trial counted for the Deflated Sharpe."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from engine.data.schema import Progress
from engine.features.panel import to_wide
from engine.modeling.training import TrainConfig
from engine.modeling.tuning import TuningConfig, TuningResult, run_study
from engine.workflows.data import DbPath
from engine.workflows.trials import record_trial
from store.db import default_db_path


def study_storage(db_path: DbPath) -> str:
    """Optuna's RDB storage for the store at ``db_path``: ``<db>.optuna.sqlite`` beside it
    (one study per tuned run, named ``tune-<run_id>``)."""
    path = Path(db_path or default_db_path()).resolve()
    return f"sqlite:///{path.with_name(path.name + '.optuna.sqlite')}"


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
    as a trial (kind "tuning") with the daily returns of trading its forecasts."""
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
