"""First launch: a new store gets the offline sample and a trained, active default model,
so every page has content the first time it opens. Re-running reuses both."""

from __future__ import annotations

import time
from contextlib import closing
from dataclasses import dataclass

import pandas as pd

from engine.data.schema import Progress
from engine.modeling.training import TrainConfig
from engine.workflows.data import DEFAULT_WATCHLIST, DbPath, ensure_seeded, load_watchlist
from engine.workflows.runs import activate_run, keep_analyses, train_model
from store.db import open_db
from store.models import ModelRunRepository

# The README's model: the sample universe from 2005 with every default setting
FIRST_START = pd.Timestamp("2005-01-01")
FIRST_RUN_PREFIX = "first-launch"


@dataclass(frozen=True)
class FirstLaunch:
    """What ``ensure_ready`` did: each step's seconds (None when it was not needed)."""

    seeded_s: float | None
    trained_s: float | None
    run_id: str | None

    @property
    def message(self) -> str:
        if self.seeded_s is None and self.trained_s is None:
            return f"Store and model already in place (active run {self.run_id}); nothing to do."
        parts = []
        if self.seeded_s is not None:
            parts.append(f"store built from the offline sample in {self.seeded_s:.0f} s")
        if self.trained_s is not None:
            parts.append(f"default model {self.run_id} trained in {self.trained_s:.0f} s")
        return "First launch: " + "; ".join(parts) + "."


def default_config(db_path: DbPath) -> TrainConfig:
    """The default model on the sample universe (the README's run)."""
    return TrainConfig(tickers=tuple(load_watchlist(db_path, DEFAULT_WATCHLIST)), start=FIRST_START)


def ensure_ready(
    db_path: DbPath,
    *,
    train: bool = True,
    config: TrainConfig | None = None,
    progress: Progress | None = None,
) -> FirstLaunch:
    """Seed a new store; on a store with no complete model run, train ``config`` (the
    default model) and make it the active one. A store that has a complete run is left as
    it is (the user chose or trained it), and a store's own active run is never replaced."""
    started = time.monotonic()
    seeded = ensure_seeded(
        db_path, progress=None if progress is None else lambda f, t: progress(0.1 * f, t)
    )
    seeded_s = None if seeded is None else time.monotonic() - started
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        active = runs.active()
        complete = runs.load_all().query("status == 'complete'")
    if active is not None or len(complete) or not train:
        chosen = active.run_id if active is not None else None
        return FirstLaunch(seeded_s, None, chosen)
    begun = time.monotonic()
    inner = None if progress is None else (lambda f, t: progress(0.1 + 0.9 * f, t))
    run_id = f"{FIRST_RUN_PREFIX}-{pd.Timestamp.now(tz='UTC'):%Y%m%d-%H%M%S}"
    config = config or default_config(db_path)
    record = train_model(db_path, config, run_id=run_id, progress=inner)
    keep_analyses(db_path, record.run_id, inner)
    activate_run(db_path, record.run_id)
    return FirstLaunch(seeded_s, time.monotonic() - begun, record.run_id)
