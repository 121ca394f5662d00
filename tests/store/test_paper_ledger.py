"""The paper ledger under random orders, fills, price moves and steps (Hypothesis)."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from engine.trading import execution
from engine.trading.execution import ExecutionState
from engine.trading.paper import equity_of
from store import migrations
from store.db import StoreError, open_db
from store.paper import PaperLedger

TICKERS = ("AAA", "BBB", "CCC")
INITIAL = 100_000.0


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.TemporaryDirectory()
        self.db = open_db(Path(self.folder.name) / "ledger.db")
        self.ledger = PaperLedger(self.db)
        self.ledger.open_account(INITIAL)
        self.open: list[tuple[str, str, float]] = []
        self.fills: list[tuple[str, float, float, float]] = []
        self.marks = {t: 50.0 for t in TICKERS}
        self.counter = 0
        self.step = 0

    def teardown(self) -> None:
        self.db.close()
        self.folder.cleanup()

    @rule(ticker=st.sampled_from(TICKERS), quantity=st.integers(-200, 200).filter(bool))
    def place_order(self, ticker: str, quantity: int) -> None:
        self.counter += 1
        order_id = f"o{self.counter}"
        assert self.ledger.add_order(
            {
                "client_order_id": order_id,
                "step_date": "2024-01-02",
                "ticker": ticker,
                "quantity": quantity,
            }
        )
        assert not self.ledger.add_order(  # the same client order id is refused
            {
                "client_order_id": order_id,
                "step_date": "2024-01-02",
                "ticker": ticker,
                "quantity": 1,
            }
        )
        self.open.append((order_id, ticker, float(quantity)))

    @precondition(lambda self: self.open)
    @rule(data=st.data(), price=st.floats(1.0, 500.0), fees=st.floats(0.0, 20.0))
    def fill(self, data, price: float, fees: float) -> None:
        order_id, ticker, quantity = self.open.pop(data.draw(st.integers(0, len(self.open) - 1)))
        fill = {
            "fill_id": f"f-{order_id}",
            "client_order_id": order_id,
            "fill_date": "2024-01-03",
            "ticker": ticker,
            "quantity": quantity,
            "price": price,
            "fees": fees,
        }
        assert self.ledger.record_fill(fill)
        assert not self.ledger.record_fill(fill)  # a duplicate fill id is ignored
        assert not self.ledger.record_fill(
            {**fill, "fill_id": f"g-{order_id}"}
        )  # one fill per order
        self.fills.append((ticker, quantity, price, fees))

    @rule(ticker=st.sampled_from(TICKERS), price=st.floats(1.0, 500.0))
    def move_price(self, ticker: str, price: float) -> None:
        self.marks[ticker] = price

    @rule()
    def step(self) -> None:
        self.step += 1
        day = pd.Timestamp("2024-01-03") + pd.Timedelta(days=self.step)
        positions = self.ledger.positions()
        equity = equity_of(self.ledger.cash(), positions, pd.Series(self.marks))
        self.ledger.record_step(
            {
                "step_date": day,
                "equity": equity,
                "cash": self.ledger.cash(),
                "peak_equity": equity,
                "orders": 0,
                "fills": 0,
                "guardrail": "",
            }
        )
        assert self.ledger.step_done(day)
        assert self.ledger.steps()["step_date"].iloc[-1] == day

    @invariant()
    def books_balance(self) -> None:
        expected = {}
        for ticker, quantity, _, _ in self.fills:
            expected[ticker] = expected.get(ticker, 0.0) + quantity
        expected = {t: q for t, q in expected.items() if q != 0}
        stored = dict(
            zip(self.ledger.positions()["ticker"], self.ledger.positions()["quantity"], strict=True)
        )
        assert stored == pytest.approx(expected)
        cash = INITIAL - sum(q * p + f for _, q, p, f in self.fills)
        assert self.ledger.cash() == pytest.approx(cash, rel=1e-12, abs=1e-6)
        marked = sum(q * self.marks[t] for t, q in expected.items())
        equity = equity_of(self.ledger.cash(), self.ledger.positions(), pd.Series(self.marks))
        assert equity == pytest.approx(cash + marked, rel=1e-12, abs=1e-6)
        replayed_positions, replayed_cash = self.ledger.replay()
        assert replayed_positions == pytest.approx(stored)
        assert replayed_cash == pytest.approx(self.ledger.cash(), rel=1e-12, abs=1e-6)


LedgerMachine.TestCase.settings = settings(max_examples=40, stateful_step_count=30, deadline=None)
TestLedger = LedgerMachine.TestCase


def test_ledger_refuses_reads_without_an_account(db_path) -> None:
    with open_db(db_path) as db:
        ledger = PaperLedger(db)
        with pytest.raises(StoreError, match="no paper account"):
            ledger.cash()
        with pytest.raises(StoreError, match="initial cash must be positive"):
            ledger.open_account(0)


def test_the_execution_state_round_trips_through_the_ledger(db_path) -> None:
    """Held and blocked tickers keep every field; a flat unblocked one loses its row."""
    tickers = ("AAA", "BBB", "CCC", "DDD")
    flat = ExecutionState.empty(tickers, 5_000.0)
    arrays = {name: getattr(flat, name).copy() for name in ("shares", "basis", "stop")}
    arrays.update(take_profit=flat.take_profit.copy(), risk=flat.risk.copy())
    arrays["shares"][:3], arrays["basis"][:3] = [10.0, -4.0, 0.0], [12.5, 30.0, 0.0]
    arrays["stop"][:2], arrays["take_profit"][:2] = [11.0, 33.0], [15.0, 25.0]
    arrays["risk"][:2] = [1.5, 3.0]
    state = replace(
        flat,
        **arrays,
        trailing=[True, False, False, False],
        blocked=[False, False, True, False],
        exit_side=[0.0, 0.0, 1.0, 0.0],
        entered=np.array(["2024-01-03", "2024-01-04", "NaT", "NaT"], dtype="datetime64[ns]"),
    )
    with pytest.raises(ValueError, match="read-only"):
        state.shares[0] = 1.0
    with open_db(db_path) as db:
        ledger = PaperLedger(db)
        ledger.open_account(INITIAL)
        ledger.save_state(state.to_rows(), list(tickers))
        rows = ledger.execution_rows()
        assert sorted(rows.columns) == sorted(execution.STATE_COLUMNS)  # the table is the state
        assert rows["ticker"].tolist() == ["AAA", "BBB", "CCC"]
        assert ledger.positions()["ticker"].tolist() == ["AAA", "BBB"]  # CCC is flat, blocked
        back = ExecutionState.from_rows(rows, 5_000.0, tickers)
        for name in ("shares", "basis", "stop", "take_profit", "risk", "exit_side"):
            np.testing.assert_array_equal(getattr(back, name), getattr(state, name), name)
        for name in ("trailing", "blocked", "entered"):
            np.testing.assert_array_equal(getattr(back, name), getattr(state, name), name)
        lifted = replace(state, blocked=np.zeros(4, bool))  # the block lifts: the row goes
        ledger.save_state(lifted.to_rows(), list(tickers))
        assert ledger.execution_rows()["ticker"].tolist() == ["AAA", "BBB"]


def test_a_ledger_of_the_old_schema_opens_with_its_data(db_path, monkeypatch) -> None:
    """A store made before the execution state was kept (migrations 1-5) migrates with
    defaults: positions keep their quantity and levels and get the mean fill price as
    their basis; fills and orders keep every value; the replay still agrees."""
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
    with open_db(db_path) as db:
        assert "paper_targets" not in db.table_names()
        db.execute("INSERT INTO paper_account (id, initial_cash, created_utc) VALUES (1, 1e5, 'x')")
        db.execute("INSERT INTO paper_cash (id, balance) VALUES (1, 1e5 - 1000 - 1050 - 2)")
        for n, (q, price) in enumerate([(100, 10.0), (100, 10.5)]):
            db.execute(
                "INSERT INTO paper_orders (client_order_id, step_date, ticker, quantity, status,"
                " stop, take_profit, created_utc) VALUES (?, ?, 'AAA', ?, 'filled', 9, 12, 'x')",
                (f"o{n}", f"2024-01-0{n + 2}", q),
            )
            db.execute(
                "INSERT INTO paper_fills (fill_id, client_order_id, fill_date, ticker, quantity,"
                " price, fees, created_utc) VALUES (?, ?, ?, 'AAA', ?, ?, 1, 'x')",
                (f"f{n}", f"o{n}", f"2024-01-0{n + 3}", q, price),
            )
        db.execute(
            "INSERT INTO paper_orders (client_order_id, step_date, ticker, quantity, status,"
            " created_utc) VALUES ('o2', '2024-01-04', 'BBB', 5, 'open', 'x')"
        )
        db.execute("INSERT INTO paper_positions VALUES ('AAA', 200, 9, 12)")
    monkeypatch.undo()
    with open_db(db_path) as db:
        ledger = PaperLedger(db)
        rows = ledger.execution_rows().set_index("ticker")
        assert rows.loc["AAA", "quantity"] == 200 and rows.loc["AAA", "stop"] == 9
        assert rows.loc["AAA", "cost_basis"] == pytest.approx(10.25)
        assert not rows.loc["AAA", "blocked"] and pd.isna(rows.loc["AAA", "entered"])
        fills = ledger.fills()
        assert fills["reason"].tolist() == ["rebalance"] * 2 and (fills["spread"] == 0).all()
        assert fills["price"].tolist() == [10.0, 10.5]
        orders = ledger.orders()
        assert orders["status"].tolist() == ["filled", "filled", "open"]
        assert orders["target_weight"].isna().all()
        assert ledger.replay() == ({"AAA": 200.0}, pytest.approx(ledger.cash()))
        assert ledger.targets("2024-01-04").empty


def test_the_ledger_returns_its_dates_parsed_and_reads_back_what_it_was_given(db_path) -> None:
    """Dates go in as a Timestamp, a date or ISO text alike, are stored as one ISO text,
    and come back as datetime64 (so no caller parses them)."""
    day = pd.Timestamp("2024-01-02")
    with open_db(db_path) as db:
        ledger = PaperLedger(db)
        ledger.open_account(INITIAL)
        order = {"client_order_id": "o1", "step_date": day, "ticker": "AAA", "quantity": 5.0}
        assert ledger.add_order(order)
        assert ledger.add_order({**order, "client_order_id": "o2", "step_date": "2024-01-02"})
        fill = {"fill_id": "f1", "client_order_id": "o1", "ticker": "AAA", "quantity": 5.0}
        assert ledger.record_fill({**fill, "fill_date": day.date(), "price": 10.0, "fees": 1.0})
        step = dict.fromkeys(("equity", "cash", "peak_equity", "orders", "fills"), 1.0)
        ledger.record_step({**step, "step_date": np.datetime64("2024-01-02"), "guardrail": ""})
        stored = db.execute("SELECT step_date FROM paper_orders UNION ALL "
                            "SELECT fill_date FROM paper_fills UNION ALL "
                            "SELECT step_date FROM paper_steps").fetchall()  # fmt: skip
        orders, fills, steps = ledger.orders(), ledger.fills(), ledger.steps()
        assert ledger.step_done("2024-01-02") and ledger.step_done(day)
    assert {text for (text,) in stored} == {"2024-01-02"}
    for frame, column in ((orders, "step_date"), (fills, "fill_date"), (steps, "step_date")):
        assert frame[column].dtype == "datetime64[ns]"
        assert frame[column].tolist() == [day] * len(frame)
    assert len(orders) == 2
