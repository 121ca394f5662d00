"""User-editable watchlists: named, ordered lists of tickers with their membership history.

Each member has spells: ``added`` (ISO date; NULL: a member since its data starts) and
``removed`` (ISO date, the first date it is no longer a member; NULL: still one). Removing
a ticker records its removal date; nothing is deleted but a change undone on the day it
was made (a spell removed on its added date was never in force). Changes may not be dated
after today: a record must be known at the date it speaks of.

The store trusts its caller to have validated tickers (engine.data.schema) and dates
(``engine.data.calendar.parse_date``: readable, not after today); it guards names and the
history's consistency.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

import pandas as pd
from sqlite_utils import Database

from store.db import iso_date, parse_iso_dates, write_transaction
from store.migrations import utc_now

_NAME_RE = re.compile(r"^[\w][\w .&()+-]{0,59}$")
DateLike = str | dt.date | pd.Timestamp
# the membership rule (engine.modeling.membership.is_member), as the SQL of one date
_MEMBER_ON = "(added IS NULL OR added <= :day) AND (removed IS NULL OR removed > :day)"


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


def _iso(value: DateLike | None) -> str:
    """A date as the table's ISO text (None: today). The caller has read and validated it
    (``engine.data.calendar.parse_date``, through engine.workflows): the store encodes."""
    return iso_date(dt.date.today() if value is None else value)


class WatchlistRepository:
    """``watchlists`` and ``watchlist_members`` (one row per membership spell)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def names(self) -> list[str]:
        """All watchlist names, alphabetically."""
        return [r["name"] for r in self.db.query("SELECT name FROM watchlists ORDER BY name")]

    def _require(self, name: str) -> None:
        if not list(self.db.query("SELECT 1 FROM watchlists WHERE name = ?", [name])):
            raise WatchlistError(f"No watchlist named {name!r}")

    def load(self, name: str) -> list[str]:
        """Current members of ``name`` in their saved order; WatchlistError if unknown."""
        self._require(name)
        rows = self.db.query(
            "SELECT ticker FROM watchlist_members WHERE watchlist = ? AND removed IS NULL "
            "ORDER BY position",
            [name],
        )
        return [r["ticker"] for r in rows]

    def members_as_of(self, name: str, day: DateLike) -> list[str]:
        """Members of ``name`` on ``day`` (added <= day < removed), in their saved order."""
        self._require(name)
        rows = self.db.query(
            f"SELECT ticker, MIN(position) AS position FROM watchlist_members "
            f"WHERE watchlist = :name AND {_MEMBER_ON} GROUP BY ticker ORDER BY position",
            {"name": name, "day": _iso(day)},
        )
        return [r["ticker"] for r in rows]

    def membership(self, name: str) -> pd.DataFrame:
        """Every spell of ``name``: ticker, added, removed (datetime64; NaT: since its data
        starts / still a member), in the members' order, each ticker's spells by date."""
        self._require(name)
        rows = self.db.query(
            "SELECT ticker, added, removed FROM watchlist_members WHERE watchlist = ? "
            "ORDER BY position, COALESCE(added, '')",
            [name],
        )
        frame = pd.DataFrame(list(rows), columns=["ticker", "added", "removed"])
        return parse_iso_dates(frame, ["added", "removed"])

    def load_all(self) -> pd.DataFrame:
        """Every watchlist with its description and current tickers (comma-separated)."""
        sql = """
        SELECT w.name, w.description, w.updated_utc,
               (SELECT GROUP_CONCAT(ticker, ', ') FROM
                   (SELECT ticker FROM watchlist_members m
                    WHERE m.watchlist = w.name AND m.removed IS NULL
                    ORDER BY position)) AS tickers
        FROM watchlists w ORDER BY w.name
        """
        columns = ["name", "description", "updated_utc", "tickers"]
        return pd.DataFrame(list(self.db.query(sql)), columns=columns)

    def _touch(self, name: str, description: str | None = None) -> None:
        if description is None:
            self.db.execute(
                "UPDATE watchlists SET updated_utc = ? WHERE name = ?", (utc_now(), name)
            )
            return
        self.db.execute(
            "INSERT INTO watchlists (name, description, updated_utc) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET description = excluded.description, "
            "updated_utc = excluded.updated_utc",
            (name, description, utc_now()),
        )

    def _open_spell(self, name: str, ticker: str) -> dict | None:
        rows = list(
            self.db.query(
                "SELECT id, added FROM watchlist_members "
                "WHERE watchlist = ? AND ticker = ? AND removed IS NULL",
                [name, ticker],
            )
        )
        return rows[0] if rows else None

    def _add(self, name: str, ticker: str, added: str | None, position: int) -> None:
        if self._open_spell(name, ticker) is not None:
            raise WatchlistError(f"{ticker} is already a member of {name!r}")
        last = self.db.execute(
            "SELECT MAX(removed) FROM watchlist_members WHERE watchlist = ? AND ticker = ?",
            (name, ticker),
        ).fetchone()[0]
        if last is not None and (added is None or added < last):
            raise WatchlistError(
                f"{ticker} was a member of {name!r} until {last}: it can rejoin on or after "
                "that date"
            )
        self.db.execute(
            "INSERT INTO watchlist_members (watchlist, ticker, position, added, recorded_utc) "
            "VALUES (?, ?, ?, ?, ?)",
            (name, ticker, position, added, utc_now()),
        )

    def _remove(self, name: str, ticker: str, removed: str) -> None:
        spell = self._open_spell(name, ticker)
        if spell is None:
            raise WatchlistError(f"{ticker} is not a current member of {name!r}")
        added = spell["added"]
        if added is not None and removed < added:
            raise WatchlistError(
                f"{ticker} joined {name!r} on {added}: its removal cannot be dated {removed}"
            )
        if removed == added:  # undone the day it was made: the spell never held a date
            self.db.execute("DELETE FROM watchlist_members WHERE id = ?", (spell["id"],))
        else:
            self.db.execute(
                "UPDATE watchlist_members SET removed = ?, recorded_utc = ? WHERE id = ?",
                (removed, utc_now(), spell["id"]),
            )

    def save(
        self,
        name: str,
        tickers: Sequence[str],
        description: str = "",
        effective: DateLike | None = None,
    ) -> None:
        """Make ``tickers`` (order kept) the current members of ``name``, in one transaction.

        A new watchlist's members are members since their data starts (or since
        ``effective`` when given). On an existing one, tickers that join are added and
        tickers left out are removed as of ``effective`` (default today); the others keep
        their history.
        """
        name = check_name(name)
        if len(set(tickers)) != len(tickers):
            raise WatchlistError(f"Watchlist {name!r} lists a ticker twice")
        exists = name in self.names()
        on = _iso(effective) if exists or effective else None
        with write_transaction(self.db):
            self._touch(name, description)
            current = self.load(name)
            for ticker in current:
                if ticker not in tickers:
                    self._remove(name, ticker, on)
            for position, ticker in enumerate(tickers):
                if ticker in current:
                    self.db.execute(
                        "UPDATE watchlist_members SET position = ? "
                        "WHERE watchlist = ? AND ticker = ? AND removed IS NULL",
                        (position, name, ticker),
                    )
                else:
                    self._add(name, ticker, on, position)

    def add(self, name: str, ticker: str, on: DateLike | None = None) -> None:
        """Add ``ticker`` to ``name`` as of ``on`` (default today), last in the order."""
        self._require(name)
        added = _iso(on)
        with write_transaction(self.db):
            position = self.db.execute(
                "SELECT COALESCE(MAX(position) + 1, 0) FROM watchlist_members WHERE watchlist = ?",
                (name,),
            ).fetchone()[0]
            self._add(name, ticker, added, position)
            self._touch(name)

    def remove(self, name: str, ticker: str, on: DateLike | None = None) -> None:
        """Record that ``ticker`` left ``name`` on ``on`` (default today); its history and
        prices stay."""
        self._require(name)
        removed = _iso(on)
        with write_transaction(self.db):
            self._remove(name, ticker, removed)
            self._touch(name)

    def delete(self, name: str) -> None:
        """Remove ``name`` and its members; raise WatchlistError if it is unknown."""
        with write_transaction(self.db):
            cursor = self.db.execute("DELETE FROM watchlists WHERE name = ?", (name,))
            if cursor.rowcount == 0:
                raise WatchlistError(f"No watchlist named {name!r}")
