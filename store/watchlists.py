"""User-editable watchlists: named, ordered lists of tickers.

The store trusts its caller to have validated tickers (engine.data.schema); it only
guards names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import pandas as pd
from sqlite_utils import Database

from store.db import write_transaction
from store.migrations import utc_now

_NAME_RE = re.compile(r"^[\w][\w .&()+-]{0,59}$")


class WatchlistError(ValueError):
    """A watchlist name or content that cannot be stored; the message says why."""


def check_name(name: str) -> str:
    """Return the stripped name or raise WatchlistError naming what is wrong."""
    stripped = (name or "").strip()
    if not _NAME_RE.fullmatch(stripped):
        raise WatchlistError(
            f"Invalid watchlist name {name[:40]!r}: 1-60 letters, digits, spaces or . & ( ) + -"
        )
    return stripped


class WatchlistRepository:
    """``watchlists`` and ``watchlist_members``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def names(self) -> list[str]:
        """All watchlist names, alphabetically."""
        return [r["name"] for r in self.db.query("SELECT name FROM watchlists ORDER BY name")]

    def load(self, name: str) -> list[str]:
        """Tickers of ``name`` in their saved order; raise WatchlistError if it is unknown."""
        if not list(self.db.query("SELECT 1 FROM watchlists WHERE name = ?", [name])):
            raise WatchlistError(f"No watchlist named {name!r}")
        rows = self.db.query(
            "SELECT ticker FROM watchlist_members WHERE watchlist = ? ORDER BY position", [name]
        )
        return [r["ticker"] for r in rows]

    def load_all(self) -> pd.DataFrame:
        """Every watchlist with its description and tickers (comma-separated)."""
        sql = """
        SELECT w.name, w.description, w.updated_utc,
               (SELECT GROUP_CONCAT(ticker, ', ') FROM
                   (SELECT ticker FROM watchlist_members m WHERE m.watchlist = w.name
                    ORDER BY position)) AS tickers
        FROM watchlists w ORDER BY w.name
        """
        columns = ["name", "description", "updated_utc", "tickers"]
        return pd.DataFrame(list(self.db.query(sql)), columns=columns)

    def save(self, name: str, tickers: Sequence[str], description: str = "") -> None:
        """Create or replace ``name`` with ``tickers`` (order kept) in one transaction."""
        name = check_name(name)
        if len(set(tickers)) != len(tickers):
            raise WatchlistError(f"Watchlist {name!r} lists a ticker twice")
        with write_transaction(self.db):
            self.db.execute(
                "INSERT INTO watchlists (name, description, updated_utc) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET description = excluded.description, "
                "updated_utc = excluded.updated_utc",
                (name, description, utc_now()),
            )
            self.db.execute("DELETE FROM watchlist_members WHERE watchlist = ?", (name,))
            self.db.conn.executemany(
                "INSERT INTO watchlist_members (watchlist, ticker, position) VALUES (?, ?, ?)",
                [(name, t, i) for i, t in enumerate(tickers)],
            )

    def delete(self, name: str) -> None:
        """Remove ``name`` and its members; raise WatchlistError if it is unknown."""
        with write_transaction(self.db):
            cursor = self.db.execute("DELETE FROM watchlists WHERE name = ?", (name,))
            if cursor.rowcount == 0:
                raise WatchlistError(f"No watchlist named {name!r}")
