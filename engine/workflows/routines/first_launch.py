"""First launch: a new store gets the offline sample at once, and its default model is
trained in the background (the Training page's job), made active when it is done. The
server answers meanwhile; pages and the API show the job's progress instead of "no model".
Re-running reuses the store, and never starts a second job."""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass

import pandas as pd

from engine.data.schema import Progress
from engine.modeling.training import TrainConfig
from engine.workflows.data.prices import DEFAULT_WATCHLIST, DbPath, ensure_seeded, load_watchlist
from engine.workflows.modeling.jobs import TrainingJob, launch_training, training_status
from engine.workflows.modeling.runs import new_run_id
from store.db import open_db
from store.models import ModelRunRepository, TrainingBusyError

# The README's model: the sample universe from 2005 with every default setting
FIRST_START = pd.Timestamp("2005-01-01")
FIRST_RUN_PREFIX = "first-launch"


@dataclass(frozen=True)
class FirstLaunch:
    """What ``ensure_ready`` did: the seconds seeding took (None: the store existed), the
    default model's job it started (None: none started) and the job already running."""

    seeded_s: float | None
    started: str | None
    running: str | None

    @property
    def message(self) -> str:
        parts = []
        if self.seeded_s is not None:
            parts.append(f"store built from the offline sample in {self.seeded_s:.0f} s")
        if self.started is not None:
            parts.append(
                f"the default model (run {self.started}) is training in the background; "
                "the Daily review shows its progress and fills in when it is done"
            )
        elif self.running is not None:
            parts.append(f"training run {self.running} is already running")
        if not parts:
            return "Store and model runs already in place; nothing to do."
        return "First launch: " + "; ".join(parts) + "."


def default_config(db_path: DbPath) -> TrainConfig:
    """The default model on the sample universe (the README's run)."""
    return TrainConfig(tickers=tuple(load_watchlist(db_path, DEFAULT_WATCHLIST)), start=FIRST_START)


def _has_complete_run(db_path: DbPath) -> bool:
    with closing(open_db(db_path)) as db:
        return bool((ModelRunRepository(db).load_all()["status"] == "complete").any())


def ensure_ready(
    db_path: DbPath,
    *,
    train: bool = True,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
) -> FirstLaunch:
    """Seed a new store (seconds); on a store with no complete model run and no training
    job, start the job that trains ``config`` (the default model) and makes it active, and
    return without waiting for it. A store that has a complete run is left as it is (the
    user chose or trained it). The store's training lock makes the start happen once: a
    second launch, even at the same moment, finds the job running and starts none."""
    started = time.monotonic()
    seeded = ensure_seeded(db_path, progress=progress)
    seeded_s = None if seeded is None else time.monotonic() - started
    if not train or _has_complete_run(db_path):
        return FirstLaunch(seeded_s, None, None)
    job = training_status(db_path)
    if job is not None:
        return FirstLaunch(seeded_s, None, job.run_id)
    run_id = f"{FIRST_RUN_PREFIX}-{new_run_id()}"  # unique: the lock admits its own run id
    try:
        launch_training(
            db_path, config or default_config(db_path), run_id=run_id, activate_if_none=True
        )
    except TrainingBusyError:  # another launch took the lock since training_status looked
        job = training_status(db_path)
        return FirstLaunch(seeded_s, None, None if job is None else job.run_id)
    return FirstLaunch(seeded_s, run_id, None)


def first_model_training(db_path: DbPath) -> TrainingJob | None:
    """The running training job while the store has no complete model run (on a new store:
    the default model the first launch started), else None: what pages and the API show,
    with its progress, instead of "no model" until the first model is there."""
    job = training_status(db_path)
    if job is None or _has_complete_run(db_path):
        return None
    return job
