"""The paper-trading ledger: account, targets, orders, fills, positions, cash, daily steps.

Positions and cash are kept up to date with every fill, and ``replay`` rebuilds both from
the fills alone, so the two can be compared at any time. A fill id can be recorded once:
a duplicate is ignored. ``paper_positions`` also holds the rest of the execution state
(cost basis, exit levels, trailing, re-entry block), one row per ticker held or blocked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
from sqlite_utils import Database

from store.db import StoreError, iso_date, iso_dates, parse_iso_dates, write_transaction
from store.migrations import utc_now

ORDER_COLUMNS = (
    "client_order_id", "step_date", "ticker", "quantity", "status", "target_weight", "stop",
    "take_profit", "trailing", "p_up", "run_id", "reasons", "note", "created_utc", "refused_by",
)  # fmt: skip
FILL_COLUMNS = (
    "fill_id", "client_order_id", "fill_date", "ticker", "quantity", "price", "fees", "spread",
    "impact", "reason", "realized_pnl",
)  # fmt: skip
POSITION_COLUMNS = ("ticker", "quantity", "cost_basis", "stop", "take_profit", "trailing")
TARGET_COLUMNS = ("ticker", "target_weight", "stop", "take_profit", "trailing")
STEP_COLUMNS = ("step_date", "equity", "cash", "peak_equity", "orders", "fills", "guardrail")
RAMP_COLUMNS = ("changed_on", "stage", "fraction", "verdict", "gate_json", "reason", "recorded_utc")


def _plain(value):
    """A value sqlite3 can bind (numpy scalars become Python ones)."""
    return value.item() if hasattr(value, "item") else value


@dataclass(frozen=True)
class PaperAccount:
    """The paper account: its starting cash, when it opened, and whether the circuit
    breaker has paused it (and why)."""

    initial_cash: float
    created_utc: str
    halted: bool
    halt_reason: str


class PaperLedger:
    """Tables ``paper_*``. Writes run inside the caller's transaction, or their own."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _frame(self, sql: str, columns: tuple[str, ...], params: tuple = ()) -> pd.DataFrame:
        return pd.DataFrame(self.db.execute(sql, params).fetchall(), columns=list(columns))

    # --- account ---------------------------------------------------------------------

    def open_account(self, initial_cash: float) -> None:
        """Create the account with its starting cash (a no-op if it exists)."""
        if initial_cash <= 0:
            raise StoreError("initial cash must be positive")
        with write_transaction(self.db):
            if self.account() is None:
                self.db.execute(
                    "INSERT INTO paper_account (id, initial_cash, created_utc) VALUES (1, ?, ?)",
                    (initial_cash, utc_now()),
                )
                self.db.execute(
                    "INSERT INTO paper_cash (id, balance) VALUES (1, ?)", (initial_cash,)
                )

    def account(self) -> PaperAccount | None:
        row = self.db.execute(
            "SELECT initial_cash, created_utc, halted, halt_reason FROM paper_account"
        ).fetchone()
        if row is None:
            return None
        return PaperAccount(float(row[0]), row[1], bool(row[2]), row[3] or "")

    def set_halt(self, halted: bool, reason: str = "") -> None:
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE paper_account SET halted = ?, halt_reason = ? WHERE id = 1",
                (int(halted), reason),
            )

    # --- orders and fills ------------------------------------------------------------

    def add_order(self, order: dict) -> bool:
        """Insert an open order; False (and nothing written) if its id exists already."""
        return self._insert_order(order, "open", "")

    def refuse_order(self, order: dict, refused_by: str) -> bool:
        """Record an order a pre-trade check refused (``refused_by``: the check's name and
        why), cancelled without being placed; False if its id exists already."""
        return self._insert_order(order, "cancelled", refused_by)

    def _insert_order(self, order: dict, status: str, refused_by: str) -> bool:
        values = {**order, "step_date": iso_date(order["step_date"])}
        values.update(status=status, created_utc=utc_now(), refused_by=refused_by)
        values.setdefault("note", "")
        names = [c for c in ORDER_COLUMNS if c in values]
        with write_transaction(self.db):
            cursor = self.db.execute(
                f"INSERT OR IGNORE INTO paper_orders ({', '.join(names)}) "
                f"VALUES ({', '.join('?' * len(names))})",
                tuple(values[n] for n in names),
            )
        return cursor.rowcount == 1

    def record_fill(self, fill: dict) -> bool:
        """Book a fill: position, cash and order status change with it, in one transaction.

        Returns False, changing nothing, when the fill id (or a fill of the same order) is
        already recorded.
        """
        values = {"spread": 0.0, "impact": 0.0, "reason": "rebalance", "realized_pnl": None}
        values.update(fill, fill_date=iso_date(fill["fill_date"]))
        with write_transaction(self.db):
            cursor = self.db.execute(
                f"INSERT OR IGNORE INTO paper_fills ({', '.join(FILL_COLUMNS)}, created_utc) "
                f"VALUES ({', '.join('?' * len(FILL_COLUMNS))}, ?)",
                (*(values[c] for c in FILL_COLUMNS), utc_now()),
            )
            if cursor.rowcount != 1:
                return False
            self.db.execute(
                "INSERT INTO paper_positions (ticker, quantity) VALUES (?, ?) "
                "ON CONFLICT (ticker) DO UPDATE SET quantity = quantity + excluded.quantity",
                (fill["ticker"], fill["quantity"]),
            )
            self.db.execute(
                "UPDATE paper_cash SET balance = balance - ? WHERE id = 1",
                (fill["quantity"] * fill["price"] + fill["fees"],),
            )
            self.db.execute(
                "UPDATE paper_orders SET status = 'filled' WHERE client_order_id = ?",
                (fill["client_order_id"],),
            )
            self.db.execute("DELETE FROM paper_positions WHERE quantity = 0 AND blocked = 0")
        return True

    def cancel_orders(self, client_order_ids: list[str]) -> None:
        """Mark open orders cancelled (the execution model did not trade them)."""
        with write_transaction(self.db):
            self.db.conn.executemany(
                "UPDATE paper_orders SET status = 'cancelled' "
                "WHERE client_order_id = ? AND status = 'open'",
                [(i,) for i in client_order_ids],
            )

    # --- execution state and targets ---------------------------------------------------

    def save_state(self, rows: pd.DataFrame, tickers: list[str]) -> None:
        """Set the execution state of ``tickers``: ``rows`` (the execution model's state
        columns, which are this table's) for those held or blocked; any other of
        ``tickers`` is flat and loses its row."""
        rows = rows.assign(entered=iso_dates(pd.to_datetime(rows["entered"])))
        rows = rows.astype(object).where(rows.notna(), None)
        columns = list(rows.columns)
        with write_transaction(self.db):
            self.db.conn.executemany(
                "DELETE FROM paper_positions WHERE ticker = ?",
                [(t,) for t in tickers if t not in set(rows["ticker"])],
            )
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "ticker")
            self.db.conn.executemany(
                f"INSERT INTO paper_positions ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT (ticker) DO UPDATE SET {updates}",
                [tuple(_plain(v) for v in row) for row in rows.itertuples(index=False)],
            )

    def save_targets(self, step_date: pd.Timestamp, targets: pd.DataFrame) -> None:
        """A step's decision: ``targets`` indexed by ticker (every target, zero included)."""
        day = iso_date(step_date)
        frame = targets.reset_index(names="ticker")[list(TARGET_COLUMNS)]
        frame = frame.astype(object).where(frame.notna(), None)
        with write_transaction(self.db):
            self.db.conn.executemany(
                f"INSERT OR REPLACE INTO paper_targets (step_date, {', '.join(TARGET_COLUMNS)}) "
                f"VALUES (?, {', '.join('?' * len(TARGET_COLUMNS))})",
                [(day, *(_plain(v) for v in row)) for row in frame.itertuples(index=False)],
            )

    def set_note(self, client_order_id: str, note: str) -> None:
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE paper_orders SET note = ? WHERE client_order_id = ?",
                (note[:2000], client_order_id),
            )

    # --- steps -----------------------------------------------------------------------

    def record_step(self, step: dict) -> None:
        values = {**step, "step_date": iso_date(step["step_date"])}
        with write_transaction(self.db):
            self.db.execute(
                f"INSERT INTO paper_steps ({', '.join(STEP_COLUMNS)}, completed_utc) "
                f"VALUES ({', '.join('?' * len(STEP_COLUMNS))}, ?)",
                (*(values[c] for c in STEP_COLUMNS), utc_now()),
            )

    def step_done(self, step_date: pd.Timestamp) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM paper_steps WHERE step_date = ?", (iso_date(step_date),)
            ).fetchone()
            is not None
        )

    # --- capital ramp -----------------------------------------------------------------

    def record_ramp(
        self, changed_on: pd.Timestamp, stage: int, fraction: float, gate: dict, reason: str
    ) -> None:
        """A change of the ramp's stage, with the gate's verdict and figures (``gate``)."""
        with write_transaction(self.db):
            self.db.execute(
                f"INSERT INTO paper_ramp ({', '.join(RAMP_COLUMNS)}) VALUES "
                f"({', '.join('?' * len(RAMP_COLUMNS))})",
                (
                    iso_date(changed_on),
                    stage,
                    fraction,
                    gate["verdict"],
                    json.dumps(gate),
                    reason,
                    utc_now(),
                ),
            )

    def ramp_history(self) -> pd.DataFrame:
        """Every change of stage, oldest first (``RAMP_COLUMNS``)."""
        return self._frame(
            f"SELECT {', '.join(RAMP_COLUMNS)} FROM paper_ramp ORDER BY id", RAMP_COLUMNS
        )

    def ramp_stage(self) -> int:
        """The stage in force: the newest change's, 0 before any."""
        row = self.db.execute("SELECT stage FROM paper_ramp ORDER BY id DESC LIMIT 1").fetchone()
        return 0 if row is None else int(row[0])

    # --- reads -----------------------------------------------------------------------

    def cash(self) -> float:
        row = self.db.execute("SELECT balance FROM paper_cash WHERE id = 1").fetchone()
        if row is None:
            raise StoreError("no paper account: open one first")
        return float(row[0])

    def positions(self) -> pd.DataFrame:
        """Tickers held (``POSITION_COLUMNS``)."""
        frame = self._frame(
            f"SELECT {', '.join(POSITION_COLUMNS)} FROM paper_positions "
            "WHERE quantity != 0 ORDER BY ticker",
            POSITION_COLUMNS,
        )
        return frame.astype({"stop": float, "take_profit": float, "trailing": bool})

    def execution_rows(self) -> pd.DataFrame:
        """The execution state, one row per ticker held or blocked (every column of the
        table: the execution model's state columns)."""
        cursor = self.db.execute("SELECT * FROM paper_positions ORDER BY ticker")
        frame = pd.DataFrame(cursor.fetchall(), columns=[d[0] for d in cursor.description])
        flags, text = ("trailing", "blocked"), ("ticker", "entered")
        numbers = {c: float for c in frame.columns if c not in flags + text}
        frame = frame.astype({**numbers, **dict.fromkeys(flags, bool)})
        return parse_iso_dates(frame, ["entered"])

    def targets(self, step_date: pd.Timestamp) -> pd.DataFrame:
        """The decision of the step on ``step_date``, indexed by ticker."""
        frame = self._frame(
            f"SELECT {', '.join(TARGET_COLUMNS)} FROM paper_targets WHERE step_date = ? "
            "ORDER BY ticker",
            TARGET_COLUMNS,
            (iso_date(step_date),),
        )
        numbers = {"target_weight": float, "stop": float, "take_profit": float}
        return frame.astype({**numbers, "trailing": bool}).set_index("ticker")

    def orders(self, status: str | None = None) -> pd.DataFrame:
        """Orders (``ORDER_COLUMNS``; ``step_date`` parsed), of one ``status`` or all."""
        sql = f"SELECT {', '.join(ORDER_COLUMNS)} FROM paper_orders"
        params: tuple = ()
        if status:
            sql += " WHERE status = ?"
            params = (status,)
        frame = self._frame(sql + " ORDER BY step_date, client_order_id", ORDER_COLUMNS, params)
        return parse_iso_dates(frame, ["step_date"])

    def fills(self) -> pd.DataFrame:
        """Fills in booking order (``FILL_COLUMNS``; ``fill_date`` parsed)."""
        frame = self._frame(
            f"SELECT {', '.join(FILL_COLUMNS)} FROM paper_fills ORDER BY fill_date, fill_id",
            FILL_COLUMNS,
        )
        return parse_iso_dates(frame, ["fill_date"])

    def steps(self) -> pd.DataFrame:
        """Steps, oldest first (``STEP_COLUMNS``; ``step_date`` parsed)."""
        frame = self._frame(
            f"SELECT {', '.join(STEP_COLUMNS)} FROM paper_steps ORDER BY step_date", STEP_COLUMNS
        )
        return parse_iso_dates(frame, ["step_date"])

    def replay(self) -> tuple[dict[str, float], float]:
        """Positions and cash rebuilt from the account's starting cash and its fills only."""
        account = self.account()
        if account is None:
            raise StoreError("no paper account: open one first")
        fills = self.fills()
        positions = fills.groupby("ticker")["quantity"].sum()
        cash = account.initial_cash - float((fills["quantity"] * fills["price"]).sum())
        cash -= float(fills["fees"].sum())
        return {t: float(q) for t, q in positions.items() if q != 0}, cash
