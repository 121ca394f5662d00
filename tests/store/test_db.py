"""Opening, migrating and transactions."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from store.db import (
    StoreError,
    iso_date,
    iso_dates,
    open_db,
    parse_iso_dates,
    write_transaction,
)
from store.migrations import MIGRATIONS, applied_versions, migrate


def test_open_creates_a_wal_store_with_foreign_keys_and_all_migrations(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert db.conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 30000
        assert applied_versions(db) == {v for v, _, _ in MIGRATIONS}
        assert {
            "prices",
            "ingestion_log",
            "ingestion_findings",
            "watchlists",
            "watchlist_members",
        } <= set(db.table_names())


def test_migrations_can_be_rerun(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        assert migrate(db, write_transaction) == []
    with closing(open_db(db_path)) as db:
        count = db.conn.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()[0]
        assert count == len(MIGRATIONS)


def test_transaction_rolls_back_everything_on_error(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        with pytest.raises(RuntimeError), write_transaction(db):
            db.execute("INSERT INTO watchlists (name, updated_utc) VALUES ('a', 'now')")
            raise RuntimeError("boom")
        assert db.conn.execute("SELECT COUNT(*) FROM watchlists").fetchone()[0] == 0
        assert not db.conn.in_transaction


def test_nested_transaction_is_a_savepoint(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        with write_transaction(db):
            db.execute("INSERT INTO watchlists (name, updated_utc) VALUES ('outer', 'now')")
            with pytest.raises(ValueError), write_transaction(db):
                db.execute("INSERT INTO watchlists (name, updated_utc) VALUES ('inner', 'now')")
                raise ValueError("inner fails")
        names = [r[0] for r in db.conn.execute("SELECT name FROM watchlists")]
        assert names == ["outer"]


def test_foreign_keys_are_enforced(db_path: Path) -> None:
    with closing(open_db(db_path)) as db, pytest.raises(sqlite3.IntegrityError):
        db.execute(
            "INSERT INTO watchlist_members (watchlist, ticker, position, recorded_utc) "
            "VALUES ('nope', 'AAPL', 0, 'now')"
        )


def test_unopenable_path_gives_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(StoreError, match="Cannot open the database at"):
        open_db(blocker / "x.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a database"):
        open_db(junk)


@pytest.mark.parametrize(
    "value",
    [pd.Timestamp("2024-03-05"), pd.Timestamp("2024-03-05 16:00"), dt.date(2024, 3, 5),
     dt.datetime(2024, 3, 5, 9, 30), np.datetime64("2024-03-05"), "2024-03-05"],
)  # fmt: skip
def test_the_scalar_encoder_writes_what_the_column_encoder_writes(value) -> None:
    """``iso_date`` (one value) and ``iso_dates`` (a column) give the same text, and the
    decoder reads it back as the day."""
    column = iso_dates(pd.Series(pd.to_datetime([value])))
    assert iso_date(value) == column[0] == "2024-03-05"
    back = parse_iso_dates(pd.DataFrame({"d": [iso_date(value)]}), ["d"])["d"].iloc[0]
    assert back == pd.Timestamp("2024-03-05")


def test_the_store_encodes_dates_in_store_db_only() -> None:
    """No repository formats a date column by hand (``%Y-%m-%d``, ``isoformat()``): they
    call ``iso_date`` / ``iso_dates``, so a date is written one way. Timestamps (``*_utc``,
    a time of day) are not dates."""
    root = Path(__file__).resolve().parents[2] / "store"
    by_hand = re.compile(r"%Y-%m-%d(?!T)|\.isoformat\(\)")
    found = [
        f"{path.name}:{number}"
        for path in sorted(root.glob("*.py"))
        if path.name != "db.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if by_hand.search(line) and "_utc" not in line and "timespec" not in line
    ]
    assert found == []
