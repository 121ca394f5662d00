"""Watchlist membership history: spells, the migration of existing members, bad input."""

from __future__ import annotations

import datetime as dt
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.modeling.membership import is_member
from store import migrations
from store.db import open_db, write_transaction
from store.watchlists import WatchlistError, WatchlistRepository

TODAY = dt.date.today().isoformat()


def spells(repo: WatchlistRepository, name: str) -> list[tuple]:
    frame = repo.membership(name)
    iso = [
        [None if pd.isna(v) else f"{v:%Y-%m-%d}" for v in frame[c]] for c in ("added", "removed")
    ]
    return list(zip(frame["ticker"], *iso, strict=True))


def test_a_new_list_holds_since_the_data_starts_and_removals_keep_history(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        repo = WatchlistRepository(db)
        repo.save("Tech", ["MSFT", "AAPL", "INTC"])
        repo.remove("Tech", "INTC", "2020-06-30")
        repo.add("Tech", "NVDA", "2021-01-04")
        repo.remove("Tech", "NVDA", "2022-03-01")
        repo.add("Tech", "NVDA", "2023-05-01")  # rejoins
        assert repo.load("Tech") == ["MSFT", "AAPL", "NVDA"]
        assert spells(repo, "Tech") == [
            ("MSFT", None, None),
            ("AAPL", None, None),
            ("INTC", None, "2020-06-30"),
            ("NVDA", "2021-01-04", "2022-03-01"),
            ("NVDA", "2023-05-01", None),
        ]
        assert repo.members_as_of("Tech", "2020-06-29") == ["MSFT", "AAPL", "INTC"]
        assert repo.members_as_of("Tech", "2020-06-30") == ["MSFT", "AAPL"]  # removal day
        assert repo.members_as_of("Tech", "2021-01-04") == ["MSFT", "AAPL", "NVDA"]
        assert repo.members_as_of("Tech", "2022-12-30") == ["MSFT", "AAPL"]
        assert repo.load_all()["tickers"].tolist() == ["MSFT, AAPL, NVDA"]


def test_saving_an_edited_list_records_who_joined_and_left(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        repo = WatchlistRepository(db)
        repo.save("Tech", ["MSFT", "AAPL"], "big tech")
        repo.save("Tech", ["NVDA", "MSFT"], "big tech", effective="2024-02-01")
        assert repo.load("Tech") == ["NVDA", "MSFT"]
        assert spells(repo, "Tech") == [
            ("NVDA", "2024-02-01", None),
            ("MSFT", None, None),
            ("AAPL", None, "2024-02-01"),
        ]
        repo.save("Tech", ["MSFT"])  # today by default
        assert ("NVDA", "2024-02-01", TODAY) in spells(repo, "Tech")
        repo.save("Tech", ["MSFT", "KO"])
        repo.save("Tech", ["MSFT"])  # KO added and removed today: it never held a date
        assert [s for s in spells(repo, "Tech") if s[0] == "KO"] == []


def test_the_sql_rule_agrees_with_the_engine_rule(db_path: Path) -> None:
    rng = np.random.default_rng(3)
    days = pd.bdate_range("2020-01-01", periods=60)
    with closing(open_db(db_path)) as db:
        repo = WatchlistRepository(db)
        repo.save("L", [f"T{i}" for i in range(8)], effective="2019-12-31")
        for i in range(8):
            cut = sorted(rng.choice(len(days), 3, replace=False))
            repo.remove("L", f"T{i}", days[cut[0]])
            repo.add("L", f"T{i}", days[cut[1]])
            if i % 2:
                repo.remove("L", f"T{i}", days[cut[2]])
        frame = repo.membership("L")
        for day in days:
            tickers = np.array([f"T{i}" for i in range(8)], dtype=object)
            engine = tickers[is_member(frame, tickers, np.repeat(day.to_datetime64(), 8))]
            assert sorted(repo.members_as_of("L", day)) == sorted(engine), day


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda r: r.remove("Tech", "AAPL", "2019-12-31"), "joined 'Tech' on 2020-01-02"),
        (lambda r: r.remove("Tech", "ZZZ"), "ZZZ is not a current member of 'Tech'"),
        (lambda r: r.add("Tech", "AAPL"), "AAPL is already a member"),
        (lambda r: r.add("Tech", "INTC", "2020-05-01"), "until 2020-06-30: it can rejoin"),
        (lambda r: r.add("Nope", "AAPL"), "No watchlist named 'Nope'"),
        (lambda r: r.save("Tech", ["MSFT"], effective="2019-01-01"), "joined 'Tech'"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(db_path: Path, call, match: str) -> None:
    with closing(open_db(db_path)) as db:
        repo = WatchlistRepository(db)
        repo.save("Tech", ["AAPL", "MSFT", "INTC"], effective="2020-01-02")
        repo.remove("Tech", "INTC", "2020-06-30")
        before = spells(repo, "Tech")
        with pytest.raises(WatchlistError, match=match):
            call(repo)
        assert spells(repo, "Tech") == before
        assert not db.conn.in_transaction


def test_the_schema_refuses_a_backwards_spell(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        WatchlistRepository(db).save("Tech", ["AAPL"])
        with pytest.raises(sqlite3.IntegrityError):
            db.execute(
                "INSERT INTO watchlist_members (watchlist, ticker, position, added, removed, "
                "recorded_utc) VALUES ('Tech', 'X', 1, '2020-02-01', '2020-01-01', 'now')"
            )
        with pytest.raises(sqlite3.IntegrityError):  # two open spells of one ticker
            db.execute(
                "INSERT INTO watchlist_members (watchlist, ticker, position, recorded_utc) "
                "VALUES ('Tech', 'AAPL', 1, 'now')"
            )


def test_existing_members_migrate_as_members_since_their_data_starts(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tuple(m for m in migrations.MIGRATIONS if m[0] < 12)
    with monkeypatch.context() as patch:
        patch.setattr(migrations, "MIGRATIONS", before)
        with closing(open_db(db_path)) as db, write_transaction(db):
            db.execute("INSERT INTO watchlists (name, updated_utc) VALUES ('Old', 'then')")
            db.conn.executemany(
                "INSERT INTO watchlist_members VALUES ('Old', ?, ?)",
                [("KO", 0), ("PEP", 1), ("WMT", 2)],
            )
    with closing(open_db(db_path)) as db:  # every migration now, 12 included
        assert 12 in migrations.applied_versions(db)
        repo = WatchlistRepository(db)
        assert repo.load("Old") == ["KO", "PEP", "WMT"]
        assert spells(repo, "Old") == [("KO", None, None), ("PEP", None, None), ("WMT", None, None)]
        assert repo.members_as_of("Old", "1990-01-02") == ["KO", "PEP", "WMT"]
        repo.remove("Old", "PEP", "2010-01-04")  # the migrated table takes new history
        assert repo.members_as_of("Old", "2010-01-04") == ["KO", "WMT"]
        repo.delete("Old")
        assert db.execute("SELECT COUNT(*) FROM watchlist_members").fetchone()[0] == 0
