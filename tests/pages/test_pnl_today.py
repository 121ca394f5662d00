"""P&L today: one rule (``engine.trading.paper.pnl_today``) that the Daily review and the
Paper trading pages both show (issue 22, item 1)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from engine.trading.paper import pnl_today
from store.db import open_db
from store.paper import PaperLedger

EQUITY = {"2022-12-27": 1_000_500.0, "2022-12-28": 1_001_000.0, "2022-12-29": 1_004_000.0}


def _steps(equity: dict[str, float]) -> pd.DataFrame:
    """The journal's steps as the ledger returns them (dates parsed)."""
    dates = pd.to_datetime(list(equity))
    return pd.DataFrame({"step_date": dates, "equity": list(equity.values())})


def _journal(db_path: Path) -> None:
    """Three steps; the account holds only its opening cash (1,000,000) now."""
    with open_db(db_path) as db:
        ledger = PaperLedger(db)
        ledger.open_account(1_000_000.0)
        for day, equity in EQUITY.items():
            step = {"step_date": day, "equity": equity, "cash": 1_000_000.0}
            ledger.record_step(
                step | {"peak_equity": equity, "orders": 0, "fills": 0, "guardrail": ""}
            )


def _metric(at: AppTest, label: str) -> str:
    return {m.label: m.value for m in at.metric}[label]


def test_both_pages_show_the_as_of_sessions_change_where_the_old_formulas_disagreed(
    app: AppTest, seeded_db: Path
) -> None:
    # as of 2022-12-28 the review's old rule (last step minus the one before) gave
    # +3,000 (12-29's change, after the as-of date) and the paper page's (equity marked
    # at the as-of date, from today's book, minus the step before the last) -1,000; the
    # change over 12-28's session is +500
    _journal(seeded_db)
    app.sidebar.date_input(key="global.as_of").set_value(pd.Timestamp("2022-12-28").date())
    shown = {}
    for page, label in (("review", "Paper P&L today"), ("paper", "P&L today")):
        app.switch_page(f"views/{page}.py")
        app.run()
        assert not app.exception, [e.value for e in app.exception]
        shown[page] = _metric(app, label)
    assert shown == {"review": "+500", "paper": "+500"}


def test_the_first_step_counts_from_the_opening_cash() -> None:
    pnl = pnl_today(_steps(EQUITY), pd.Timestamp("2022-12-27"), 1_000_000.0)
    assert pnl.value == 500.0 and pnl.previous == pd.Timestamp("2022-12-23") and not pnl.note


def test_a_weekend_as_of_counts_as_the_session_before() -> None:
    steps = _steps({"2022-12-29": 1.0, "2022-12-30": 4.0})
    pnl = pnl_today(steps, pd.Timestamp("2023-01-01"), 10.0)
    assert pnl.session == pd.Timestamp("2022-12-30") and pnl.value == 3.0


def test_a_missing_step_is_said_not_guessed() -> None:
    not_run = pnl_today(_steps(EQUITY), pd.Timestamp("2022-12-30"), 1_000_000.0)
    assert math.isnan(not_run.value) and not_run.text == "n/a"
    assert "No paper step for 2022-12-30 yet (the last ran for 2022-12-29)" in not_run.note
    gap = _steps({"2022-12-27": 1.0, "2022-12-29": 4.0})
    missed = pnl_today(gap, pd.Timestamp("2022-12-29"), 1.0)
    assert math.isnan(missed.value)
    assert "previous session 2022-12-28" in missed.note and "(2022-12-27)" in missed.note
    before = pnl_today(_steps(EQUITY), pd.Timestamp("2022-12-20"), 1_000_000.0)
    assert math.isnan(before.value) and "none ran before" in before.note
