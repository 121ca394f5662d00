"""The daily routine: which sessions are due (holidays, a close just passed, the UTC
midnight), each step once a session, catch-up in order, one routine at a time, and a failed
step that stops its day until a rerun completes it."""

from __future__ import annotations

from contextlib import closing
from types import SimpleNamespace

import pandas as pd
import pytest

from engine import workflows
from engine.modeling.policies import RetrainPolicy
from engine.trading.broker import BrokerSettings
from engine.workflows.routines import routine
from engine.workflows.routines.routine import (
    RoutineBusyError,
    RoutineConfig,
    closed_sessions,
    next_routine_run,
    routine_lock,
    run_routine,
)
from engine.workflows.trading.broker import MirrorResult
from store.db import StoreError, open_db
from store.paper import PaperLedger

UTC = "UTC"


def at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


def test_the_due_sessions_follow_the_nyse_closes_in_utc() -> None:
    # 2022-12-27 closes at 21:00 UTC; 2022-12-26 was a holiday (Christmas observed)
    assert closed_sessions(at("2022-12-27 20:59"), None) == [pd.Timestamp("2022-12-23")]
    assert closed_sessions(at("2022-12-27 21:00"), None) == [pd.Timestamp("2022-12-27")]
    # 23:59 and 00:01 UTC are the same New York evening: the same session
    assert closed_sessions(at("2022-12-27 23:59"), None) == [pd.Timestamp("2022-12-27")]
    assert closed_sessions(at("2022-12-28 00:01"), None) == [pd.Timestamp("2022-12-27")]
    # catching up from the last session done: every session since, oldest first
    since = closed_sessions(at("2022-12-28 22:00"), pd.Timestamp("2022-12-21"))
    assert since == [
        pd.Timestamp(d) for d in ("2022-12-22", "2022-12-23", "2022-12-27", "2022-12-28")
    ]
    assert closed_sessions(at("2022-12-26 23:00"), pd.Timestamp("2022-12-23")) == []  # holiday


def test_a_routine_holds_the_lock_alone(tmp_path) -> None:
    db = tmp_path / "store.db"
    with (
        routine_lock(db),
        pytest.raises(RoutineBusyError, match="another daily routine"),
        routine_lock(db),
    ):
        pass
    with routine_lock(db):  # released when the first one ended
        pass


@pytest.fixture
def config(trained_db) -> RoutineConfig:
    _, record = trained_db
    return RoutineConfig(tuple(record.params["tickers"]), "sample")


def _steps(db) -> pd.DataFrame:
    return workflows.load_routine_history(db)


def test_each_step_runs_once_a_session_and_missed_sessions_in_order(trained_db, config) -> None:
    db, _ = trained_db
    first = run_routine(db, config, now=at("2022-12-22 22:00"))
    assert first.sessions == (pd.Timestamp("2022-12-22"),) and first.ok
    statuses = first.steps.set_index("step")["status"]
    assert statuses["broker"] == "skipped"  # no broker configured
    assert statuses["report"] == "skipped"  # a tear sheet needs three steps
    assert statuses["retrain"] == "skipped"  # no retraining policy
    assert (statuses.drop(["broker", "report", "retrain"]) == "done").all(), first.steps
    again = run_routine(db, config, now=at("2022-12-22 23:30"))
    assert (again.steps["status"] == "done before").all()
    # three sessions later (a holiday between): caught up oldest first
    later = run_routine(db, config, now=at("2022-12-28 00:01"))
    assert later.sessions == tuple(pd.Timestamp(d) for d in ("2022-12-23", "2022-12-27"))
    with closing(open_db(db)) as conn:
        steps = PaperLedger(conn).steps()["step_date"].tolist()
    assert steps == [pd.Timestamp(d) for d in ("2022-12-22", "2022-12-23", "2022-12-27")]
    report = db.parent / "reports" / "paper-2022-12-27.html"  # the third step's tear sheet
    assert (
        report.read_text().startswith("<!DOCTYPE html>") and "Paper account" in report.read_text()
    )
    history = _steps(db)
    assert len(history) == 3 * len(workflows.STEPS)  # each step once a session
    assert set(history["status"]) <= {"done", "skipped"}


def test_a_failed_step_stops_its_day_and_a_rerun_completes_it(trained_db, config) -> None:
    db, _ = trained_db
    broken = RoutineConfig(config.tickers, "no-such-source")
    failed = run_routine(db, broken, now=at("2022-12-27 22:00"))
    assert not failed.ok
    assert failed.steps["step"].tolist() == ["refresh"]  # nothing ran after it
    assert "no-such-source" in failed.steps["detail"].iloc[0]
    fixed = run_routine(db, config, now=at("2022-12-27 22:00"))
    assert fixed.ok and fixed.sessions == (pd.Timestamp("2022-12-27"),)
    assert set(fixed.steps["step"]) == set(workflows.STEPS)


def test_the_next_run_is_half_an_hour_after_the_next_close() -> None:
    assert next_routine_run(at("2022-12-27 15:00")) == at("2022-12-27 21:30")
    assert next_routine_run(at("2022-12-27 21:29")) == at("2022-12-27 21:30")
    # past it: the next session's (the 28th); a Friday evening: Monday's
    assert next_routine_run(at("2022-12-27 21:31")) == at("2022-12-28 21:30")
    assert next_routine_run(at("2022-12-23 23:00")) == at("2022-12-27 21:30")  # 26th: holiday
    # an early close (the day after Thanksgiving closes at 13:00 New York, 18:00 UTC)
    assert next_routine_run(at("2022-11-25 12:00")) == at("2022-11-25 18:30")


def test_a_broker_that_is_down_does_not_stop_the_days_and_is_retried(
    trained_db, config, monkeypatch
) -> None:
    db, _ = trained_db
    down = {"yes": True}
    calls: list[int] = []

    def mirror(path, settings):
        calls.append(1)
        if down["yes"]:
            raise StoreError("broker unavailable: connection refused")
        return MirrorResult("dry_run", 0, 1, 0, 0, ("recorded",))

    monkeypatch.setattr(routine, "mirror_orders", mirror)
    with_broker = RoutineConfig(config.tickers, "sample", broker=BrokerSettings())
    first = run_routine(db, with_broker, now=at("2022-12-22 22:00"))
    second = run_routine(db, with_broker, now=at("2022-12-23 22:00"))
    for result in (first, second):  # the broker failed; every other step was done
        failed = result.steps[result.steps["status"] == "failed"]
        assert failed["step"].tolist() == ["broker"] * len(failed) and len(failed) >= 1
        assert (result.steps.query("step == 'paper'")["status"] != "failed").all()
    with closing(open_db(db)) as conn:
        assert len(PaperLedger(conn).steps()) == 2  # both days stepped
    down["yes"] = False
    back = run_routine(db, with_broker, now=at("2022-12-27 22:00"))
    assert back.ok
    retried = back.steps[(back.steps["step"] == "broker") & (back.steps["status"] == "done")]
    assert set(retried["session"]) == {
        pd.Timestamp(d) for d in ("2022-12-22", "2022-12-23", "2022-12-27")
    }
    assert (workflows.load_routine_history(db).query("step == 'broker'")["status"] == "done").all()


def test_the_policy_in_force_retrains_once_in_a_new_month(trained_db, config) -> None:
    db, champion = trained_db
    workflows.save_retrain_policy(db, RetrainPolicy("monthly", 12))
    first = run_routine(db, config, now=at("2022-12-22 22:00")).steps.set_index("step")
    assert first.loc["retrain", "status"] == "done", first
    assert first.loc["retrain", "detail"].startswith("retrained (monthly schedule (last 2018-")
    events = workflows.champion_history(db).events
    assert len(events) == 1 and events["previous_run_id"].iloc[0] == champion.run_id
    later = run_routine(db, config, now=at("2022-12-23 22:00")).steps.set_index("step")
    assert later.loc["retrain", "status"] == "skipped"
    assert later.loc["retrain", "detail"].startswith("not due (monthly; 12-month window)")


def test_a_failed_retrain_does_not_stop_the_day_and_is_retried(
    trained_db, config, monkeypatch
) -> None:
    db, _ = trained_db
    busy = {"yes": True}

    def retrain_if_due(path, day, **options):
        if busy["yes"]:
            raise RuntimeError("another training job holds the lock")
        return SimpleNamespace(result=object(), message=f"retrained as of {day:%Y-%m-%d}")

    monkeypatch.setattr(routine, "retrain_if_due", retrain_if_due)
    first = run_routine(db, config, now=at("2022-12-22 22:00")).steps.set_index("step")
    assert first.loc["retrain", "status"] == "failed"
    assert first.loc["retrain", "detail"] == "RuntimeError: another training job holds the lock"
    assert first.loc["alerts", "status"] == "done"  # the day went on
    busy["yes"] = False
    again = run_routine(db, config, now=at("2022-12-22 23:00")).steps
    assert again.query("status != 'done before'")[["step", "status", "detail"]].values.tolist() == [
        ["retrain", "done", "retrained as of 2022-12-22"]
    ]
