"""The daily routine run in-process on a schedule (the API server's, when configured):
half an hour after each NYSE close (``next_routine_run``), on a daemon thread that the
server stops when it shuts down. The routine's own lock keeps it from overlapping a run
from cron; a run that fails is logged and the schedule goes on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import pandas as pd

from engine.workflows.data.prices import DbPath
from engine.workflows.routines.routine import (
    RoutineBusyError,
    RoutineConfig,
    next_routine_run,
    run_routine,
)

LOG = logging.getLogger(__name__)


def utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


class RoutineSchedule:
    """Runs the routine on ``db_path`` with ``config`` after each close until stopped.

    ``clock`` gives the time (UTC; tests pass their own)."""

    def __init__(
        self, db_path: DbPath, config: RoutineConfig, *, clock: Callable[[], pd.Timestamp] = utc_now
    ) -> None:
        self.db_path, self.config, self.clock = db_path, config, clock
        self.stop = threading.Event()
        self.runs = 0  # routines started, for the logs and the tests

    def serve(self) -> None:
        """Wait for each scheduled time, run the routine, repeat; return once stopped."""
        while not self.stop.is_set():
            due = next_routine_run(self.clock())
            if self.stop.wait(max(0.0, (due - self.clock()).total_seconds())):
                return
            self.runs += 1
            try:
                result = run_routine(self.db_path, self.config, now=self.clock())
            except RoutineBusyError as exc:
                LOG.info("scheduled daily routine skipped: %s", exc)
                continue
            except Exception:  # noqa: BLE001 - a failed run must not end the schedule
                LOG.exception("scheduled daily routine failed")
                continue
            LOG.info("scheduled daily routine: %d step(s), ok=%s", len(result.steps), result.ok)

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve, name="daily-routine", daemon=True)
        thread.start()
        return thread
