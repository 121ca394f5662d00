"""The daily routine killed inside each step (SIGKILL: nothing runs after it) and run
again completes the day exactly once: the same forecasts, orders, fills, mirrored orders
and alerts as a routine that was never killed, and a store whose integrity check passes."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import sqlite3
import sys
from pathlib import Path

import pandas as pd
import pytest

from engine.trading.broker import BrokerSettings
from engine.workflows.routines.routine import RoutineConfig, run_routine

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
FIRST, KILLED = (
    pd.Timestamp("2022-12-22 22:00", tz="UTC"),
    pd.Timestamp("2022-12-23 22:00", tz="UTC"),
)
# the function each step calls, patched in the child to die right after it returns: the
# step's writes are in, the routine has not recorded the step done
DEATHS = {
    "refresh": "refresh_data",
    "live record": "record_live_forecasts",  # the forecasts kept, not yet scored
    "paper": "paper_step",
    "broker": "mirror_orders",
    "alerts": "alert_reentry",
}
TABLES = {  # what the day writes, and the columns that identify a row of it
    "live_forecasts": ["run_id", "as_of", "ticker", "score", "p", "rank"],
    "paper_orders": ["client_order_id", "ticker", "quantity", "status", "target_weight"],
    "paper_fills": ["client_order_id", "ticker", "quantity", "price", "fees"],
    "paper_steps": ["step_date", "equity", "cash", "orders", "fills"],
    "broker_orders": ["client_order_id", "ticker", "state", "request_json"],
    "alerts": ["event_id", "kind", "title"],
}


def _config(tickers: tuple[str, ...]) -> RoutineConfig:
    return RoutineConfig(tickers, "sample", broker=BrokerSettings())  # dry run: no network


def _die_after(path: str, tickers: tuple[str, ...], name: str, ready) -> None:
    from engine.workflows.routines import routine  # noqa: PLC0415 - in the child

    original = getattr(routine, name)

    def then_die(*args, **kwargs):
        original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)

    setattr(routine, name, then_die)
    ready.set()
    run_routine(path, _config(tickers), now=KILLED)


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        return {
            table: pd.read_sql(f"SELECT {', '.join(columns)} FROM {table}", conn)
            .sort_values(columns[:3])
            .reset_index(drop=True)
            for table, columns in TABLES.items()
        }


@pytest.fixture(scope="module")
def day_before(_trained_template, tmp_path_factory):
    """The trained store after the routine's first session, and what a routine that is
    never killed writes on the next one."""
    template, record = _trained_template
    tickers = tuple(record.params["tickers"])
    base = tmp_path_factory.mktemp("routine") / "base.db"
    shutil.copy(template, base)
    assert run_routine(base, _config(tickers), now=FIRST).ok
    clean = base.with_name("clean.db")
    shutil.copy(base, clean)
    assert run_routine(clean, _config(tickers), now=KILLED).ok
    return base, tickers, _tables(clean)


@pytest.mark.parametrize("step", sorted(DEATHS))
def test_a_routine_killed_inside_a_step_completes_the_day_once(
    day_before, step, tmp_path, monkeypatch
) -> None:
    base, tickers, expected = day_before
    path = tmp_path / "store.db"
    shutil.copy(base, path)
    monkeypatch.setitem(sys.modules, "__main__", type(sys)("__main__"))  # AppTest leaks app.py
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    child = context.Process(target=_die_after, args=(str(path), tickers, DEATHS[step], ready))
    child.start()
    child.join(600)
    assert ready.is_set() and child.exitcode == -signal.SIGKILL
    result = run_routine(path, _config(tickers), now=KILLED)
    assert result.ok and result.sessions == (pd.Timestamp("2022-12-23"),)
    found = _tables(path)
    for table, rows in expected.items():
        pd.testing.assert_frame_equal(found[table], rows, obj=table)
    assert not found["live_forecasts"].duplicated(["run_id", "as_of", "ticker"]).any()
