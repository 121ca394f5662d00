"""News items, insider transactions and the ranges fetched, each with when it was public."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlite_utils import Database

from store.db import iso_date, iso_dates, parse_iso_dates, write_transaction
from store.migrations import utc_now

_NEWS = ("ticker", "item_id", "published_utc", "public_date", "headline", "source", "score")
_INSIDER = (
    "ticker", "item_id", "filing_date", "transaction_date", "name", "code", "change", "price",
)  # fmt: skip
_COVERAGE = ("ticker", "kind", "first_date", "last_date")


def _insert(table: str, columns: Sequence[str]) -> str:
    names = (*columns, "fetched_utc")
    marks = ", ".join("?" * len(names))
    return f"INSERT OR REPLACE INTO {table} ({', '.join(names)}) VALUES ({marks})"


def _records(frame: pd.DataFrame, columns: Sequence[str], fetched: str) -> list[tuple]:
    """Rows to bind: UTC times as ISO text with offset, dates as ISO dates (NaT -> NULL),
    numbers as floats (NaN -> NULL), the rest as text; ``fetched`` last."""
    values = []
    for column in columns:
        series = frame[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            values.append(series.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00").tolist())
        elif pd.api.types.is_datetime64_dtype(series):
            values.append(iso_dates(series))
        elif pd.api.types.is_numeric_dtype(series):
            values.append(series.to_numpy(dtype=float).tolist())
        else:
            values.append(series.astype(str).tolist())
    return list(zip(*values, [fetched] * len(frame), strict=True))


class SentimentRepository:
    """``news_items``, ``insider_transactions`` and ``sentiment_coverage``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, news: pd.DataFrame, insider: pd.DataFrame, coverage: pd.DataFrame) -> int:
        """Write all three in one transaction (items replace those with the same id);
        return the number of items written."""
        fetched = utc_now()
        with write_transaction(self.db):
            for table, columns, frame in (
                ("news_items", _NEWS, news),
                ("insider_transactions", _INSIDER, insider),
                ("sentiment_coverage", _COVERAGE, coverage),
            ):
                self.db.conn.executemany(_insert(table, columns), _records(frame, columns, fetched))
        return len(news) + len(insider)

    def _select(
        self,
        table: str,
        columns: Sequence[str],
        date_column: str,
        tickers: Sequence[str] | None,
        as_of: pd.Timestamp | None,
    ) -> pd.DataFrame:
        clauses, params = [], []
        if tickers is not None:
            clauses.append(f"ticker IN ({', '.join('?' * len(tickers))})")
            params += list(tickers)
        if as_of is not None:
            clauses.append(f"{date_column} <= ?")
            params.append(iso_date(as_of))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT {', '.join(columns)} FROM {table} {where} ORDER BY ticker, {date_column}"
        rows = self.db.conn.execute(sql, params).fetchall()
        return pd.DataFrame.from_records(rows, columns=list(columns))

    def load_news(
        self, tickers: Sequence[str] | None = None, as_of: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """News items public on New York dates <= ``as_of`` (columns as stored)."""
        frame = self._select("news_items", _NEWS, "public_date", tickers, as_of)
        frame = parse_iso_dates(frame, ["public_date"])
        published = pd.to_datetime(frame["published_utc"], utc=True)
        frame["published_utc"] = published.astype("datetime64[ns, UTC]")
        return frame.astype({"score": float})

    def load_insider(
        self, tickers: Sequence[str] | None = None, as_of: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """Insider transactions filed on dates <= ``as_of``."""
        frame = self._select("insider_transactions", _INSIDER, "filing_date", tickers, as_of)
        frame = parse_iso_dates(frame, ["filing_date", "transaction_date"])
        return frame.astype({"change": float, "price": float})

    def load_coverage(
        self, tickers: Sequence[str] | None = None, as_of: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """Fetched ranges that began by ``as_of``, their ends cut at ``as_of``."""
        frame = self._select("sentiment_coverage", _COVERAGE, "first_date", tickers, as_of)
        frame = parse_iso_dates(frame, ["first_date", "last_date"])
        if as_of is not None:
            frame["last_date"] = frame["last_date"].clip(upper=pd.Timestamp(as_of))
        return frame

    def load_summary(self) -> pd.DataFrame:
        """Per ticker: news items, insider transactions, and the newest covered date."""
        sql = """
        SELECT c.ticker, MAX(c.last_date) AS covered_through,
               (SELECT COUNT(*) FROM news_items n WHERE n.ticker = c.ticker) AS news_items,
               (SELECT COUNT(*) FROM insider_transactions i WHERE i.ticker = c.ticker)
                   AS insider_transactions
        FROM sentiment_coverage c GROUP BY c.ticker ORDER BY c.ticker
        """
        columns = ["ticker", "covered_through", "news_items", "insider_transactions"]
        frame = pd.DataFrame.from_records(self.db.conn.execute(sql).fetchall(), columns=columns)
        return parse_iso_dates(frame, ["covered_through"])
