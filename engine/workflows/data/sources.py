"""Macro (FRED, plus BTC-USD from Yahoo) and sentiment (Finnhub) in: keyed live sources.

Keys are arguments (the pages pass ``workflows.source_key``: ``FRED_API_KEY``,
``FINNHUB_API_KEY`` in the environment or the secrets file). A refresh is all or nothing: every
request must succeed before anything is written, then one transaction writes the rows and
an ingestion-log row (which moves the data version, so cached pages reload). A failure
names the source and the series or ticker, and leaves the store as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass

import pandas as pd

from engine.data import finnhub, fred
from engine.data.calendar import exchange_today
from engine.data.finnhub import FinnhubClient
from engine.data.fred import FredClient
from engine.data.http import SourceError
from engine.data.macro import BTC_SERIES, FRED_SERIES, btc_rows
from engine.data.quality import FINDING_COLUMNS
from engine.data.schema import Progress, normalize_tickers
from engine.data.yahoo import YFinanceProvider
from engine.workflows.data.prices import DbPath
from store.db import StoreError, open_db, write_transaction
from store.ingestion import IngestionRepository
from store.macro import MacroRepository
from store.sentiment import SentimentRepository

FRED_KEY_ENV = fred.KEY_ENV_VAR
FINNHUB_KEY_ENV = finnhub.KEY_ENV_VAR
SENTIMENT_LOOKBACK_DAYS = 365
SOURCE_OUTCOME_COLUMNS = ("name", "outcome", "rows", "reason")


@dataclass(frozen=True)
class SourceRefresh:
    """What one macro or sentiment refresh did.

    status: "ok" (everything stored) or "failed" (nothing stored).
    outcomes: one row per series or ticker, columns ``SOURCE_OUTCOME_COLUMNS``.
    """

    status: str
    source: str
    rows: int
    message: str
    outcomes: pd.DataFrame


def _failed(source: str, names: Sequence[str], done: dict[str, int], reason: str) -> SourceRefresh:
    records = [
        (n, "fetched, not stored", done[n], reason) if n in done else (n, "not stored", 0, reason)
        for n in names
    ]
    outcomes = pd.DataFrame(records, columns=list(SOURCE_OUTCOME_COLUMNS))
    return SourceRefresh("failed", source, 0, f"Nothing stored: {reason}", outcomes)


def _stored(source: str, done: dict[str, int], message: str) -> SourceRefresh:
    outcomes = pd.DataFrame(
        [(n, "stored", rows, "") for n, rows in done.items()], columns=list(SOURCE_OUTCOME_COLUMNS)
    )
    return SourceRefresh("ok", source, sum(done.values()), message, outcomes)


def _store(
    db_path: DbPath,
    source: str,
    done: dict[str, int],
    message: str,
    write: Callable,
    *,
    progress: Progress | None,
) -> SourceRefresh:
    """Run ``write(db)`` (it returns the rows written) and log the batch in one
    transaction; nothing is stored when it fails."""
    try:
        with closing(open_db(db_path)) as db, write_transaction(db):
            rows = write(db)
            IngestionRepository(db).record(
                source=source,
                tickers=list(done),
                rows=rows,
                status="ok",
                message=message,
                findings=pd.DataFrame(columns=list(FINDING_COLUMNS)),
            )
    except (sqlite3.Error, StoreError) as exc:
        return _failed(source, list(done), done, f"the database write failed ({exc})")
    if progress:
        progress(1.0, message)
    return _stored(source, done, message)


def new_vintages(fetched: pd.DataFrame, stored: pd.DataFrame, today: pd.Timestamp) -> pd.DataFrame:
    """The fetched rows to write: new observations as they came, values that differ from
    the newest stored revision as revisions known from ``today`` (never earlier), and
    nothing for values already stored."""
    latest = stored.sort_values("known_date").drop_duplicates(["series_id", "date"], keep="last")
    both = fetched.merge(
        latest[["series_id", "date", "value"]], on=["series_id", "date"], how="left",
        suffixes=("", "_stored"), indicator=True,
    )  # fmt: skip
    new = both["_merge"] == "left_only"
    same = (both["value"] == both["value_stored"]) | (
        both["value"].isna() & both["value_stored"].isna()
    )
    revised = both[~new & ~same].assign(
        known_date=lambda f: f["known_date"].clip(lower=pd.Timestamp(today))
    )
    return pd.concat([both[new], revised])[list(fetched.columns)].reset_index(drop=True)


def refresh_macro(
    db_path: DbPath,
    key: str | None,
    progress: Progress | None = None,
    *,
    include_btc: bool = True,
    client: FredClient | None = None,
    btc_provider: YFinanceProvider | None = None,
    today: pd.Timestamp | None = None,
) -> SourceRefresh:
    """Fetch the FRED series (and BTC-USD from Yahoo) in full, store new values and
    revisions point in time (see ``engine.data.fred``)."""
    today = exchange_today() if today is None else pd.Timestamp(today)
    names = [s.series_id for s in FRED_SERIES] + ([BTC_SERIES.series_id] if include_btc else [])
    done: dict[str, int] = {}
    frames = []
    try:
        client = client or FredClient(key or "")
        for i, series in enumerate(FRED_SERIES):
            frames.append(client.fetch_series(series.series_id, today=today))
            done[series.series_id] = len(frames[-1])
            if progress:
                text = f"{series.series_id}: {done[series.series_id]:,} rows"
                progress((i + 1) / (len(names) + 1), text)
    except SourceError as exc:
        return _failed(fred.SOURCE, names, done, str(exc))
    if include_btc:
        prices, error = (btc_provider or YFinanceProvider()).fetch_one(
            BTC_SERIES.series_id, None, today
        )
        if error:
            return _failed(fred.SOURCE, names, done, f"Yahoo: {error}")
        frames.append(btc_rows(prices))
        done[BTC_SERIES.series_id] = len(frames[-1])
    fetched = pd.concat(frames, ignore_index=True)
    try:
        with closing(open_db(db_path)) as db:
            stored = MacroRepository(db).load(names)
    except StoreError as exc:
        return _failed(fred.SOURCE, names, done, str(exc))
    rows = new_vintages(fetched, stored, today)
    message = f"Stored {len(rows):,} new or revised values of {len(names)} series"

    def write(db) -> int:
        return MacroRepository(db).upsert(rows)

    return _store(db_path, fred.SOURCE, done, message, write, progress=progress)


def refresh_sentiment(
    db_path: DbPath,
    tickers: Sequence[str],
    key: str | None,
    progress: Progress | None = None,
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    client: FinnhubClient | None = None,
) -> SourceRefresh:
    """Fetch news and insider transactions of ``tickers`` over [start, end] (default: the
    last year) and store them with the ranges covered."""
    tickers = normalize_tickers(tickers)
    end = exchange_today() if end is None else pd.Timestamp(end)
    lookback = pd.Timedelta(days=SENTIMENT_LOOKBACK_DAYS)
    start = end - lookback if start is None else pd.Timestamp(start)
    done: dict[str, int] = {}
    news, insider, coverage = [], [], []
    try:
        client = client or FinnhubClient(key or "")
        for i, ticker in enumerate(tickers):
            news.append(client.fetch_news(ticker, start, end))
            insider.append(client.fetch_insider(ticker, start, end))
            coverage += [(ticker, kind, start, end) for kind in ("news", "insider")]
            done[ticker] = len(news[-1]) + len(insider[-1])
            if progress:
                progress((i + 1) / (len(tickers) + 1), f"{ticker}: {done[ticker]:,} items")
    except SourceError as exc:
        return _failed(finnhub.SOURCE, tickers, done, str(exc))
    news_rows = pd.concat(news, ignore_index=True)
    insider_rows = pd.concat(insider, ignore_index=True)
    ranges = pd.DataFrame(coverage, columns=["ticker", "kind", "first_date", "last_date"])
    message = (
        f"Stored {len(news_rows):,} news items and {len(insider_rows):,} insider transactions "
        f"of {len(tickers)} ticker(s), {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    )

    def write(db) -> int:
        return SentimentRepository(db).save(news_rows, insider_rows, ranges)

    return _store(db_path, finnhub.SOURCE, done, message, write, progress=progress)


def load_macro_summary(db_path: DbPath) -> pd.DataFrame:
    """One row per stored macro series (see ``MacroRepository.load_summary``)."""
    with closing(open_db(db_path)) as db:
        return MacroRepository(db).load_summary()


def load_sentiment_summary(db_path: DbPath) -> pd.DataFrame:
    """One row per ticker with stored news or insider coverage."""
    with closing(open_db(db_path)) as db:
        return SentimentRepository(db).load_summary()
