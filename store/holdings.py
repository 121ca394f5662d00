"""The analyst's own book: holdings (one position per ticker) and re-entry conditions for
sold names.

Every write is one transaction: a batch of holdings is stored whole or not at all. The
store trusts its caller to have validated the values (engine.book); the table's CHECK
constraints still refuse what cannot be a holding (no shares, a negative cost, a note
over 500 characters), and such a refusal changes nothing.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Sequence

import pandas as pd
from sqlite_utils import Database

from store.db import StoreError, write_transaction
from store.migrations import utc_now

HOLDING_COLUMNS = ("ticker", "shares", "cost_basis", "opened", "note", "example")
CONDITION_COLUMNS = (
    "ticker", "min_percentile", "min_p", "pullback_days", "min_pullback", "regimes",
)  # fmt: skip


class BookRepository:
    """Tables ``holdings`` and ``reentry_conditions``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _write(self, sql: str, rows: Sequence[tuple]) -> None:
        try:
            with write_transaction(self.db):
                self.db.conn.executemany(sql, rows)
        except sqlite3.IntegrityError as exc:
            raise StoreError(f"Nothing stored: a row breaks a rule of the table ({exc})") from exc

    # --- holdings -----------------------------------------------------------------------

    def holdings(self) -> pd.DataFrame:
        """Every holding (``HOLDING_COLUMNS``; ``example`` as bool), by ticker."""
        rows = self.db.execute(
            f"SELECT {', '.join(HOLDING_COLUMNS)} FROM holdings ORDER BY ticker"
        ).fetchall()
        frame = pd.DataFrame(rows, columns=list(HOLDING_COLUMNS))
        return frame.astype({"shares": float, "cost_basis": float, "example": bool})

    def upsert_holdings(self, rows: Sequence[dict]) -> None:
        """Insert or replace the holdings of ``rows`` (dicts of ``HOLDING_COLUMNS``)."""
        now = utc_now()
        self._write(
            f"INSERT OR REPLACE INTO holdings ({', '.join(HOLDING_COLUMNS)}, updated_utc) "
            f"VALUES ({', '.join('?' * len(HOLDING_COLUMNS))}, ?)",
            [(*(_value(r, c) for c in HOLDING_COLUMNS), now) for r in rows],
        )

    def replace_holdings(self, rows: Sequence[dict]) -> None:
        """Make ``rows`` the whole book, in one transaction (an import)."""
        with write_transaction(self.db):
            self.db.execute("DELETE FROM holdings")
            self.upsert_holdings(rows)

    def remove_holding(self, ticker: str) -> None:
        with write_transaction(self.db):
            if self.db.execute("DELETE FROM holdings WHERE ticker = ?", (ticker,)).rowcount == 0:
                raise StoreError(f"No holding of {ticker!r} to remove")

    # --- re-entry conditions --------------------------------------------------------------

    def conditions(self) -> pd.DataFrame:
        """Every ticker's re-entry conditions (``CONDITION_COLUMNS``; ``regimes`` a tuple of
        regime ids or None; NaN / None: that condition is not used)."""
        rows = self.db.execute(
            f"SELECT {', '.join(CONDITION_COLUMNS)} FROM reentry_conditions ORDER BY ticker"
        ).fetchall()
        frame = pd.DataFrame(rows, columns=list(CONDITION_COLUMNS))
        frame["regimes"] = [
            tuple(json.loads(r)) if isinstance(r, str) else None for r in frame["regimes"]
        ]
        return frame.astype({"min_percentile": float, "min_p": float, "min_pullback": float})

    def upsert_condition(self, row: dict) -> None:
        values = dict(row)
        if values.get("regimes") is not None:
            values["regimes"] = json.dumps([int(r) for r in values["regimes"]])
        self._write(
            f"INSERT OR REPLACE INTO reentry_conditions ({', '.join(CONDITION_COLUMNS)}, "
            f"updated_utc) VALUES ({', '.join('?' * len(CONDITION_COLUMNS))}, ?)",
            [(*(_value(values, c) for c in CONDITION_COLUMNS), utc_now())],
        )

    def remove_condition(self, ticker: str) -> None:
        with write_transaction(self.db):
            cursor = self.db.execute("DELETE FROM reentry_conditions WHERE ticker = ?", (ticker,))
            if cursor.rowcount == 0:
                raise StoreError(f"No re-entry conditions for {ticker!r} to remove")


def _value(row: dict, column: str):
    """A value sqlite3 can bind: numpy scalars become Python ones, NaN becomes NULL."""
    value = row.get(column)
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and math.isnan(value) else value
