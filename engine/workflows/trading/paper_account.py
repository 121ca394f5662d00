"""The paper account as the pages read it: its journal, positions marked as of a date,
the replay check and P&L today; the user's own changes (resume, order notes)."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import pandas as pd

from engine.data.calendar import exchange_today
from engine.trading.paper import PnlToday, equity_of, pnl_today
from engine.workflows.data.prices import DbPath, load_prices
from engine.workflows.modeling.runs import active_run, trained_through
from store.db import StoreError, open_db, write_transaction
from store.guardrails import GuardrailRepository
from store.models import ModelRun
from store.paper import PaperAccount, PaperLedger


def resume_paper_trading(db_path: DbPath, actor: str = "") -> bool:
    """Clear the circuit breaker: the user's decision, recorded with ``actor`` (who) and
    the time in the guardrail trips, in one transaction. False, recording nothing, when
    trading is not paused."""
    with closing(open_db(db_path)) as db, write_transaction(db):
        ledger = PaperLedger(db)
        account, steps = ledger.account(), ledger.steps()
        if account is None or not account.halted:
            return False
        last = steps["step_date"].iloc[-1] if len(steps) else exchange_today()
        GuardrailRepository(db).record_resume(last, account.halt_reason, actor or "unknown")
        ledger.set_halt(False, "")
    return True


@dataclass(frozen=True)
class PaperState:
    """The paper account as of a date: its journal, positions marked at their last close
    on or before that date, and the run whose forecasts it trades.

    ``replay_positions`` / ``replay_cash`` are rebuilt from the fills alone (they must equal
    ``positions`` and ``cash``). ``run`` is the active run (None without one) and
    ``trained_through`` its trained-through date. ``pnl_today``: the P&L of the as-of
    date's session (``engine.trading.paper.pnl_today``, the one rule the pages show).
    """

    account: PaperAccount
    cash: float
    positions: pd.DataFrame  # ticker, quantity, stop, take_profit, mark, value
    orders: pd.DataFrame
    fills: pd.DataFrame
    steps: pd.DataFrame
    replay_positions: dict[str, float]
    replay_cash: float
    equity: float
    run: ModelRun | None
    trained_through: pd.Timestamp | None
    pnl_today: PnlToday

    @property
    def replay_matches(self) -> bool:
        stored = dict(zip(self.positions["ticker"], self.positions["quantity"], strict=True))
        return self.replay_positions == stored and abs(self.replay_cash - self.cash) <= 1e-6


def load_paper_state(db_path: DbPath, as_of: pd.Timestamp | None = None) -> PaperState:
    """The paper account, its positions marked at their last close on or before ``as_of``
    (None: the newest stored; P&L today then of the last step's session), and the active run
    with its trained-through date."""
    with closing(open_db(db_path)) as db:
        ledger = PaperLedger(db)
        account = ledger.account()
        if account is None:
            raise StoreError("no paper account yet: run a step first")
        cash, positions = ledger.cash(), ledger.positions()
        orders, fills, steps = ledger.orders(), ledger.fills(), ledger.steps()
        replayed, replay_cash = ledger.replay()
    prices = load_prices(db_path, list(positions["ticker"]), end=as_of)
    marks = prices.dropna(subset=["close"]).groupby("ticker")["close"].last()
    positions = positions.assign(mark=positions["ticker"].map(marks)).assign(
        value=lambda f: f["quantity"] * f["mark"]
    )
    newest = steps["step_date"].iloc[-1] if len(steps) else exchange_today()
    run, day = active_run(db_path), pd.Timestamp(as_of if as_of is not None else newest)
    return PaperState(
        account,
        cash,
        positions,
        orders,
        fills,
        steps,
        replayed,
        replay_cash,
        equity_of(cash, positions, marks),
        run,
        None if run is None else trained_through(run),
        pnl_today(steps, day, account.initial_cash),
    )


def set_order_note(db_path: DbPath, client_order_id: str, note: str) -> None:
    with closing(open_db(db_path)) as db:
        PaperLedger(db).set_note(client_order_id, note)
