"""Opening the SQLite store and running writes in transactions.

A Database is bound to the thread that opened it: open one per unit of work and close
it (``with closing(open_db(path)) as db``), never share one across threads.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from sqlite_utils import Database

from store.migrations import migrate

BUSY_TIMEOUT_S = 30.0


class StoreError(RuntimeError):
    """The database could not be opened or written; the message says why."""


def iso_dates(values: pd.Series) -> list[str | None]:
    """A datetime64 column as the tables' ISO date text (``YYYY-MM-DD``), None where NaT:
    the one encoder of the store's date columns."""
    text = np.datetime_as_string(values.to_numpy(dtype="datetime64[D]"), unit="D")
    return [None if t == "NaT" else t for t in text.tolist()]


def iso_date(value) -> str:
    """One date (Timestamp, date, datetime64 or ISO text) as the tables' ISO date text: the
    scalar form of ``iso_dates``, for a row written or a bound in a query."""
    return f"{pd.Timestamp(value):%Y-%m-%d}"


def parse_iso_dates(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame`` with its ``columns`` of ISO date text as datetime64[ns] (NaT where NULL):
    the one decoder of the store's date columns, so repositories return dates parsed."""
    return frame.assign(
        **{c: pd.to_datetime(frame[c], format="%Y-%m-%d").astype("datetime64[ns]") for c in columns}
    )


def open_db(path: str | Path) -> Database:
    """Open (creating if needed) and migrate the store at ``path``.

    WAL journal (readers never block the writer), a busy timeout so concurrent writers
    wait instead of failing, foreign keys on, recursive triggers on (so the rows an
    ``INSERT OR REPLACE`` deletes fire delete triggers: the live record's refuse them).
    The connection is in driver autocommit mode; group writes with ``write_transaction``.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        db = Database(conn, recursive_triggers=True)  # sqlite-utils' default, stated
        migrate(db, write_transaction)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"Cannot open the database at {path}: {exc}") from exc
    return db


@contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """Run a block as one write transaction; roll everything back if it raises.

    The outermost block takes the write lock up front (BEGIN IMMEDIATE), so a
    read-then-write cannot fail half-way on a lock upgrade; nested blocks become
    savepoints of the enclosing transaction.
    """
    conn = db.conn
    if conn.in_transaction:
        name = f"sp_{secrets.token_hex(8)}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield db
        except BaseException:
            conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        conn.execute(f"RELEASE SAVEPOINT {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
