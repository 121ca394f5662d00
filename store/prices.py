"""Daily prices: upsert keyed on (ticker, date), reads as normalized DataFrames."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlite_utils import Database

from store.db import iso_date, iso_dates, parse_iso_dates, write_transaction

_COLUMNS = ("ticker", "date", "open", "high", "low", "close", "volume")
_UPSERT = """
INSERT INTO prices (ticker, date, open, high, low, close, volume, adjusted, source,
                    ingestion_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (ticker, date) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low,
    close = excluded.close, volume = excluded.volume, adjusted = excluded.adjusted,
    source = excluded.source, ingestion_id = excluded.ingestion_id
"""


class PriceRepository:
    """The ``prices`` table. Returns DataFrames, never sqlite-utils objects."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert(
        self, prices: pd.DataFrame, *, source: str, adjusted: bool, ingestion_id: int
    ) -> int:
        """Insert or replace rows of a normalized frame; return the number of rows.

        NaN values are stored as NULL (SQLite binds NaN as NULL), so missing stays
        missing. Runs inside the caller's transaction, or its own.
        """
        n = len(prices)
        columns = [
            prices["ticker"].astype(str).tolist(),
            iso_dates(prices["date"]),
            *(prices[c].to_numpy(dtype="float64").tolist() for c in _COLUMNS[2:]),
            [int(adjusted)] * n,
            [source] * n,
            [ingestion_id] * n,
        ]
        with write_transaction(self.db):
            self.db.conn.executemany(_UPSERT, zip(*columns, strict=True))
        return n

    def load(
        self,
        tickers: Sequence[str] | None = None,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Normalized prices (ticker, date, open, high, low, close, volume).

        Parameters
        ----------
        tickers : optional; all tickers when None.
        start, end : optional inclusive date bounds.

        Returns
        -------
        pd.DataFrame, shape (n_rows, 7), sorted by ticker then date; ``date`` is
        datetime64[ns]; NULLs come back as NaN.
        """
        clauses, params = [], []
        if tickers is not None:
            if not tickers:
                return self._frame([])
            clauses.append(f"ticker IN ({', '.join('?' * len(tickers))})")
            params += list(tickers)
        if start is not None:
            clauses.append("date >= ?")
            params.append(iso_date(start))
        if end is not None:
            clauses.append("date <= ?")
            params.append(iso_date(end))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM prices {where} ORDER BY ticker, date"
        return self._frame(self.db.conn.execute(sql, params).fetchall())

    @staticmethod
    def _frame(records: list[tuple]) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(records, columns=list(_COLUMNS))
        frame["ticker"] = frame["ticker"].astype(str)
        frame = parse_iso_dates(frame, ["date"])
        for column in _COLUMNS[2:]:
            frame[column] = pd.to_numeric(frame[column]).astype("float64")
        return frame

    def versions(self, tickers: Sequence[str] | None = None) -> dict[str, str]:
        """Ticker -> "rows:newest date:newest ingestion id" of its stored rows. Every write
        of a row sets a newer ingestion id, so an equal value means nothing was written."""
        sql = "SELECT ticker, COUNT(*) || ':' || MAX(date) || ':' || MAX(ingestion_id) FROM prices"
        params: list = []
        if tickers is not None:
            if not tickers:
                return {}
            sql += f" WHERE ticker IN ({', '.join('?' * len(tickers))})"
            params = list(tickers)
        return dict(self.db.conn.execute(sql + " GROUP BY ticker", params).fetchall())

    def load_coverage(self) -> pd.DataFrame:
        """One row per stored ticker: span, row counts, which columns exist, provenance.

        Columns: ticker, first_date, last_date (datetime64), rows, closes, has_ohlc, has_volume,
        adjusted, source (of the newest row).
        """
        sql = """
        SELECT ticker, MIN(date) AS first_date, MAX(date) AS last_date, COUNT(*) AS rows,
               COUNT(close) AS closes,
               COUNT(open) > 0 AND COUNT(high) > 0 AND COUNT(low) > 0 AS has_ohlc,
               COUNT(volume) > 0 AS has_volume,
               MIN(adjusted) AS adjusted,
               (SELECT p2.source FROM prices p2 WHERE p2.ticker = p.ticker
                ORDER BY p2.date DESC LIMIT 1) AS source
        FROM prices p GROUP BY ticker ORDER BY ticker
        """
        columns = [
            "ticker", "first_date", "last_date", "rows", "closes", "has_ohlc", "has_volume",
            "adjusted", "source",
        ]  # fmt: skip
        frame = pd.DataFrame.from_records(self.db.conn.execute(sql).fetchall(), columns=columns)
        for column in ("has_ohlc", "has_volume", "adjusted"):
            frame[column] = frame[column].astype(bool)
        return parse_iso_dates(frame, ["first_date", "last_date"])

    def count(self) -> int:
        """Number of stored price rows."""
        return self.db.conn.execute("SELECT COUNT(*) FROM prices").fetchone()[0]
