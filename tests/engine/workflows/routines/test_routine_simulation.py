"""Thirty sessions through the daily routine, as a machine would run it: one run after
each close, with a missed day, a holiday, a run at 23:59 UTC and another at 00:01 UTC, and
a broker that is down for two of the sessions. Every session is stepped once, in order.

What is simulated is the routine's bookkeeping of sessions: the forecasts, the live record,
the paper step and the report run for real each session, while the refresh (the sample
source never changes), the drift monitor and the re-entry watch are stubbed here; each of
those runs for real in tests/engine/workflows/routines/test_routine.py."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from types import SimpleNamespace

import pandas as pd
import pytest

from engine import workflows
from engine.data.calendar import nyse_calendar, sessions_between
from engine.trading.broker import BrokerSettings
from engine.workflows.routines import routine
from engine.workflows.routines.routine import RoutineConfig, run_routine
from engine.workflows.trading.broker import MirrorResult
from store.db import StoreError, open_db
from store.live import LiveRecordRepository
from store.paper import PaperLedger

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
SESSIONS = sessions_between(pd.Timestamp("2022-11-10"), pd.Timestamp("2022-12-28"))[-30:]
MISSED = SESSIONS[9]  # the machine was off that evening
DOWN = set(SESSIONS[4:6])  # the broker refused every call on these evenings
MIDNIGHT = SESSIONS[19]  # runs at 23:59 and 00:01 UTC


def _evenings() -> list[pd.Timestamp]:
    """When the routine runs: an hour after each close (none on the missed day), 23:59 and
    00:01 UTC around one session, and on Thanksgiving, a holiday."""
    calendar = nyse_calendar()
    times = [calendar.session_close(s) + pd.Timedelta(hours=1) for s in SESSIONS if s != MISSED]
    day = MIDNIGHT.strftime("%Y-%m-%d")
    times += [pd.Timestamp(f"{day} 23:59", tz="UTC"), pd.Timestamp(f"{day} 23:59", tz="UTC")
              + pd.Timedelta(minutes=2)]  # fmt: skip
    times.append(pd.Timestamp("2022-11-24 22:00", tz="UTC"))  # Thanksgiving: no session
    return sorted(times)


def test_thirty_sessions_each_once_and_in_order(trained_db, monkeypatch) -> None:
    db, record = trained_db
    tickers = tuple(record.params["tickers"])
    clock = {"now": None}

    def mirror(path, settings):
        evening = clock["now"].tz_convert("America/New_York").normalize().tz_localize(None)
        if evening in DOWN:
            raise StoreError("broker unavailable: connection refused")
        return MirrorResult("dry_run", 0, 0, 0, 0, ())

    monkeypatch.setattr(routine, "mirror_orders", mirror)
    monkeypatch.setattr(
        routine, "refresh_data", lambda *a: SimpleNamespace(status="done", message="no new bars")
    )
    monkeypatch.setattr(
        routine, "monitor_model", lambda *a, **k: SimpleNamespace(retrain=False, reasons=())
    )
    monkeypatch.setattr(routine, "alert_reentry", lambda *a: [])
    config = RoutineConfig(tickers, "sample", broker=BrokerSettings())
    seen: list[pd.Timestamp] = []
    for now in _evenings():
        clock["now"] = now
        result = run_routine(db, config, now=now)
        fresh = result.steps[result.steps["status"] != "done before"]
        seen += sorted(set(fresh.loc[fresh["step"] == "paper", "session"]))
        if now.date() == pd.Timestamp("2022-11-24").date():
            assert fresh.empty  # a holiday adds nothing
    assert seen == list(SESSIONS)  # every session once, in order (the missed one caught up)
    with closing(open_db(db)) as conn:
        steps = PaperLedger(conn).steps()["step_date"].tolist()
        live = LiveRecordRepository(conn).forecasts()
    assert steps == list(SESSIONS)
    per_session = live.groupby("as_of").size()
    assert len(per_session) == 30 and (per_session == len(tickers)).all()
    history = workflows.load_routine_history(db, limit=1000)
    assert len(history) == 30 * len(workflows.STEPS)
    assert set(history["status"]) <= {"done", "skipped"}  # the broker's days retried to done
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
