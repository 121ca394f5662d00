"""Several walk-forwards on the same rows and folds, serially or on Dask: the unit of work
the ablation (one per family set) and the model zoo (one per learner) share.

On Dask (a local cluster of ``workers`` by default, or the scheduler at
``scheduler_address``) the rows are scattered once and every walk-forward is a task;
progress is reported per finished walk-forward. Serially, progress is per fold.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Hashable, Mapping
from typing import Protocol

import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from engine.cluster import dask_client
from engine.data.schema import Progress, scaled_progress
from engine.modeling.evaluation import WalkForwardResult, walk_forward
from engine.modeling.learners import LearnerParams
from engine.modeling.model_selection import PurgedWalkForward


@dataclasses.dataclass(frozen=True)
class TimedWalk:
    """A walk-forward's result and its wall-clock seconds (on Dask: on its worker, beside
    the others running at the same time)."""

    result: WalkForwardResult
    seconds: float


def timed_walk_forward(
    data: pd.DataFrame,
    splitter: BaseCrossValidator,
    params: LearnerParams,
    progress: Progress | None = None,
) -> TimedWalk:
    started = time.perf_counter()
    result = walk_forward(data, splitter, params, progress)
    return TimedWalk(result, time.perf_counter() - started)


class Schedule(Protocol):
    """Where and on which folds a study's walk-forwards run (its config's fields)."""

    train_months: int
    test_months: int
    use_dask: bool
    workers: int
    scheduler_address: str | None


def run_walk_forwards(
    data: pd.DataFrame,
    jobs: Mapping[Hashable, LearnerParams],
    schedule: Schedule,
    *,
    progress: Progress | None = None,
    describe: Callable[[Hashable], str] = str,
) -> dict[Hashable, TimedWalk]:
    """One walk-forward of ``data`` per job (its learner settings), keyed like ``jobs``, on
    the purged folds of ``schedule``; ``describe(key)`` names a job in the serial progress
    messages."""
    splitter = PurgedWalkForward(schedule.train_months, schedule.test_months)
    workers, scheduler_address = schedule.workers, schedule.scheduler_address
    results: dict[Hashable, TimedWalk] = {}
    if not schedule.use_dask:
        for k, (key, params) in enumerate(jobs.items()):
            per_fold = scaled_progress(
                progress,
                k / len(jobs),
                (k + 1) / len(jobs),
                f"Walk-forward {k + 1} of {len(jobs)} ({describe(key)}): ",
            )
            results[key] = timed_walk_forward(data, splitter, params, per_fold)
        return results
    from dask.distributed import as_completed  # noqa: PLC0415 - optional

    with dask_client(scheduler_address, workers=workers) as client:
        shared = client.scatter(data, broadcast=True)
        # one model thread per worker: the workers share the machine's cores
        threads = max(1, (os.cpu_count() or 1) // max(1, workers))
        futures = {
            client.submit(
                timed_walk_forward,
                shared,
                splitter,
                dataclasses.replace(params, n_jobs=threads),
                pure=False,
            ): key
            for key, params in jobs.items()
        }
        for done, future in enumerate(as_completed(futures), start=1):
            results[futures[future]] = future.result()
            if progress:
                progress(done / len(jobs), f"Walk-forward {done} of {len(jobs)} finished")
    return results
