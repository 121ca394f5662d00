"""The in-process schedule runs the routine half an hour after each close, goes on after a
failed or busy run, and stops when asked."""

from __future__ import annotations

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine import workflows
from engine.workflows.routines import schedule as module
from engine.workflows.routines.routine import RoutineBusyError, RoutineConfig
from engine.workflows.routines.schedule import RoutineSchedule


class Clock:
    """Each reading moves on by a minute past the time the schedule waits for."""

    def __init__(self, start: str) -> None:
        self.now = pd.Timestamp(start, tz="UTC")

    def __call__(self) -> pd.Timestamp:
        return self.now

    def passes(self, seconds: float) -> bool:  # the stop event's wait, without waiting
        self.now += pd.Timedelta(seconds=seconds) + pd.Timedelta(minutes=1)
        return False


def test_the_schedule_runs_after_each_close_and_survives_a_failed_run(monkeypatch) -> None:
    clock = Clock("2022-12-23 15:00")
    runs: list[pd.Timestamp] = []
    schedule = RoutineSchedule("unused.db", RoutineConfig(("AAPL",)), clock=clock)
    monkeypatch.setattr(schedule.stop, "wait", clock.passes)

    def routine(path, config, *, now):
        runs.append(now)
        if len(runs) == 1:
            raise RoutineBusyError("another daily routine is running")
        if len(runs) == 2:
            raise ValueError("a step's store error")
        if len(runs) == 3:
            schedule.stop.set()
        return workflows.RoutineResult((), pd.DataFrame(columns=["status"]))

    monkeypatch.setattr(module, "run_routine", routine)
    schedule.serve()
    # Friday's close, then Tuesday's (Monday the 26th was a holiday), then Wednesday's
    assert runs == [
        pd.Timestamp(t, tz="UTC")
        for t in ("2022-12-23 21:31", "2022-12-27 21:31", "2022-12-28 21:31")
    ]
    assert schedule.runs == 3


def test_the_api_runs_the_schedule_when_configured(trained_db, monkeypatch) -> None:
    db, _ = trained_db
    with TestClient(create_app(db)) as client:
        assert client.app.state.schedule is None  # not configured: no schedule
    monkeypatch.setenv("WORKBENCH_API_DAILY_ROUTINE", "Sample universe")
    with TestClient(create_app(db)) as client:
        schedule = client.app.state.schedule
        assert isinstance(schedule, RoutineSchedule) and not schedule.stop.is_set()
        assert len(schedule.config.tickers) == 20
    assert schedule.stop.is_set()  # the server stopped it
    monkeypatch.setenv("WORKBENCH_API_DAILY_ROUTINE", "No such list")
    with (
        pytest.raises(ValueError, match="No watchlist named 'No such list'"),
        TestClient(create_app(db)),
    ):
        pass
