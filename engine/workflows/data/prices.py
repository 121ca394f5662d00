"""Prices in: refresh, CSV import and the quality gate; watchlists and their membership
history; stored prices out.

Every write goes through ``ingest``: quality gate first, then one transaction that writes
the prices and their ingestion-log row together. A batch with nothing to store, or one
that fails while writing, leaves the database exactly as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from engine.data.calendar import DateError, compute_staleness, parse_date
from engine.data.csv_file import CsvImportError, CsvProvider
from engine.data.providers import PriceProvider, get_provider
from engine.data.quality import FINDING_COLUMNS, check_prices, compare_with_stored
from engine.data.sample import DESCRIPTIONS, OHLCV_STOCKS, STOCKS
from engine.data.schema import (
    FetchResult,
    Progress,
    normalize_ticker,
    normalize_tickers,
    scaled_progress,
)
from engine.data.universe import FACTOR_ETFS, INDICES
from engine.modeling.membership import UniverseWindow, universe_window
from engine.settings import load_settings
from store.db import StoreError, open_db, write_transaction
from store.ingestion import IngestionRepository
from store.prices import PriceRepository
from store.watchlists import DateLike, WatchlistError, WatchlistRepository

DbPath = str | Path | None

DEFAULT_WATCHLISTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Sample universe": ("The 20 US large caps of the offline sample", STOCKS),
    "Sample OHLCV": (
        "5 US large caps with daily OHLCV and volume, 2000-2013, from another vendor",
        OHLCV_STOCKS,
    ),
    "Sample benchmarks": (
        "Indices, VIX and factor ETFs of the offline sample",
        INDICES + FACTOR_ETFS,
    ),
    "Seed portfolio": ("The seed portfolio (live data)", ("KDK", "HOOD", "BA", "WMT")),
    "Re-entry": ("Re-entry candidates (live data)", ("AAPL", "YYAI", "SERV")),
    "Index ETFs": ("Broad-market ETFs (live data)", ("SPY", "QQQ", "IWM", "DIA")),
}
DEFAULT_WATCHLIST = "Sample universe"
TICKER_OUTCOME_COLUMNS = ("ticker", "outcome", "rows", "reason")


@dataclass(frozen=True)
class IngestResult:
    """What one refresh or import did.

    status: "ok" (all stored), "partial" (some tickers stored), "rejected" (nothing
    stored: every ticker failed the gate or fetch, or the batch was all-or-nothing),
    "failed" (an error while fetching or writing; nothing stored).
    outcomes: one row per requested ticker, columns ``TICKER_OUTCOME_COLUMNS``.
    findings: quality-gate findings, columns ``FINDING_COLUMNS``.
    """

    status: str
    source: str
    rows: int
    message: str
    outcomes: pd.DataFrame
    findings: pd.DataFrame
    log_id: int | None = None


def _no_findings() -> pd.DataFrame:
    return pd.DataFrame(columns=list(FINDING_COLUMNS))


def _outcomes(
    requested: Sequence[str],
    fetched: FetchResult,
    rejected: Mapping[str, str],
    rows: pd.Series,
    batch_reason: str | None,
) -> pd.DataFrame:
    records = []
    for ticker in requested:
        if ticker in fetched.errors:
            records.append((ticker, "not fetched", 0, fetched.errors[ticker]))
        elif ticker in rejected:
            records.append((ticker, "rejected", 0, rejected[ticker]))
        elif batch_reason:
            records.append((ticker, "not stored", 0, batch_reason))
        else:
            records.append((ticker, "stored", int(rows.get(ticker, 0)), ""))
    return pd.DataFrame(records, columns=list(TICKER_OUTCOME_COLUMNS))


def _splices(prices: PriceRepository, accepted: pd.DataFrame, adjusted: bool) -> pd.DataFrame:
    """Warnings where ``accepted`` would meet stored rows of another adjustment or level."""
    coverage = prices.load_coverage()
    flags = dict(zip(coverage["ticker"], coverage["adjusted"], strict=True))
    overlap = accepted[accepted["ticker"].isin(list(flags))]
    if overlap.empty:
        return _no_findings()
    tickers = sorted(overlap["ticker"].unique())
    stored = prices.load(tickers, overlap["date"].min(), overlap["date"].max())
    known = {t: bool(flags[t]) for t in tickers}
    return compare_with_stored(overlap, stored, known, adjusted)


def ingest(
    db_path: DbPath,
    fetched: FetchResult,
    *,
    requested: Sequence[str] | None = None,
    all_or_nothing: bool = False,
    today: pd.Timestamp | None = None,
    note: str | None = None,
) -> IngestResult:
    """Gate ``fetched`` and store what passes, with its log row, in one transaction.

    With ``all_or_nothing`` one rejected ticker rejects the whole batch (CSV imports).
    ``note`` ends the message (and the log row's), e.g. which close a CSV import used.
    """
    requested = (
        list(requested)
        if requested is not None
        else sorted(set(fetched.prices["ticker"]) | set(fetched.errors))
    )
    gate = check_prices(fetched.prices, today=today)
    batch_reason = None
    if all_or_nothing and gate.rejected:
        batch_reason = f"batch rejected because {', '.join(sorted(gate.rejected))} failed checks"
    rows = gate.accepted["ticker"].value_counts()
    outcomes = _outcomes(requested, fetched, gate.rejected, rows, batch_reason)
    stored = outcomes[outcomes["outcome"] == "stored"]
    noted = f" ({note})" if note else ""
    if stored.empty:
        reasons = "; ".join(outcomes["reason"].head(5)) or "no rows"
        message = f"Nothing stored: {reasons}{noted}"
        return IngestResult("rejected", fetched.source, 0, message, outcomes, gate.findings)
    status = "ok" if len(stored) == len(outcomes) else "partial"
    message = f"Stored {int(stored['rows'].sum()):,} rows for {len(stored)} ticker(s)"
    if status == "partial":
        message += f"; {len(outcomes) - len(stored)} ticker(s) not stored"
    message += noted
    findings = gate.findings
    try:
        with closing(open_db(db_path)) as db:
            # Keep the batch's pages in memory until the commit: spilled into the WAL
            # mid-transaction, each later page lookup searches a WAL index that grows
            # with the batch, and the write slows down faster than the rows grow.
            db.conn.execute("PRAGMA cache_spill = OFF")
            with write_transaction(db):
                prices = PriceRepository(db)
                splices = _splices(prices, gate.accepted, fetched.adjusted)
                findings = (
                    pd.concat([findings, splices], ignore_index=True) if len(splices) else findings
                )
                log_id = IngestionRepository(db).record(
                    source=fetched.source,
                    tickers=requested,
                    rows=len(gate.accepted),
                    status=status,
                    message=message,
                    findings=findings,
                )
                prices.upsert(
                    gate.accepted,
                    source=fetched.source,
                    adjusted=fetched.adjusted,
                    ingestion_id=log_id,
                )
    except (sqlite3.Error, StoreError) as exc:
        return IngestResult(
            "failed",
            fetched.source,
            0,
            f"Nothing stored: the database write failed ({exc})",
            outcomes.assign(outcome="not stored", rows=0, reason=str(exc)),
            gate.findings,
        )
    return IngestResult(
        status, fetched.source, len(gate.accepted), message, outcomes, findings, log_id
    )


def refresh_data(
    db_path: DbPath,
    source: str,
    tickers: Sequence[str],
    *,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
    progress: Progress | None = None,
    provider: PriceProvider | None = None,
) -> IngestResult:
    """Fetch ``tickers`` from ``source`` (or ``provider``), gate them and store them.

    Tickers that fail are reported one by one; the others are stored ("partial").
    """
    tickers = normalize_tickers(tickers)
    provider = provider or get_provider(source)

    try:
        fetched = provider.fetch(
            tickers, start=start, end=end, progress=scaled_progress(progress, 0.0, 0.85)
        )
    except Exception as exc:  # noqa: BLE001 - any provider failure is reported, not raised
        outcomes = pd.DataFrame(
            [(t, "not fetched", 0, str(exc)) for t in tickers], columns=list(TICKER_OUTCOME_COLUMNS)
        )
        return IngestResult(
            "failed", provider.name, 0, f"Fetching failed: {exc}", outcomes, _no_findings()
        )
    if progress:
        progress(0.9, "Checking quality and writing")
    result = ingest(db_path, fetched, requested=tickers)
    if progress:
        progress(1.0, result.message)
    return result


def import_csv(
    db_path: DbPath,
    data: bytes | str | Path,
    *,
    adjusted: bool | None = None,
    mapping: Mapping[str, str | None] | None = None,
    ticker: str | None = None,
    date_format: str | None = None,
) -> IngestResult:
    """Import a user's CSV all-or-nothing: one bad ticker stores none of the file.

    ``adjusted`` chooses between a file's close and adjusted close (None: adjusted), or
    says whether its one close is adjusted (see ``read_price_csv``); the message says
    which close was stored.
    """
    try:
        provider = CsvProvider(
            data, adjusted=adjusted, mapping=mapping, ticker=ticker, date_format=date_format
        )
    except CsvImportError as exc:
        empty = pd.DataFrame(columns=list(TICKER_OUTCOME_COLUMNS))
        return IngestResult("rejected", "csv", 0, f"Nothing stored: {exc}", empty, _no_findings())
    return ingest(db_path, provider.fetch(), all_or_nothing=True, note=provider.file.basis)


def store_path() -> str:
    """The store the app uses (the ``db_path`` setting: $WORKBENCH_DB, or
    data/workbench.db under the repository)."""
    return str(load_settings().db_path)


def seed_watchlists(db_path: DbPath) -> None:
    """Create the default watchlists that do not exist yet."""
    with closing(open_db(db_path)) as db, write_transaction(db):
        repo = WatchlistRepository(db)
        existing = set(repo.names())
        for name, (description, tickers) in DEFAULT_WATCHLISTS.items():
            if name not in existing:
                repo.save(name, list(tickers), description)


def ensure_seeded(db_path: DbPath, progress: Progress | None = None) -> IngestResult | None:
    """On a new store: default watchlists and the offline sample data. Cheap otherwise."""
    with closing(open_db(db_path)) as db:
        has_watchlists = bool(WatchlistRepository(db).names())
        has_history = IngestionRepository(db).latest_id() > 0
    if not has_watchlists:
        seed_watchlists(db_path)
    if has_history:
        return None
    return refresh_data(db_path, "sample", list(DESCRIPTIONS), progress=progress)


def _change_date(value: DateLike | None, what: str) -> DateLike | None:
    """A watchlist change's date by the one date rule (``parse_date``); None: today."""
    try:
        return None if value is None else parse_date(value, what)
    except DateError as exc:
        raise WatchlistError(str(exc)) from None


def save_watchlist(
    db_path: DbPath,
    name: str,
    tickers: Sequence[str],
    description: str = "",
    effective: DateLike | None = None,
) -> list[str]:
    """Validate ``tickers`` (InvalidTickerError names a bad one) and make them the list's
    current members: on an existing list, the tickers that join or leave do so as of
    ``effective`` (default today); a new list's members are members since their data starts.
    """
    clean = normalize_tickers(tickers)
    with closing(open_db(db_path)) as db:
        WatchlistRepository(db).save(
            name, clean, description, _change_date(effective, "effective date")
        )
    return clean


def add_to_watchlist(db_path: DbPath, name: str, ticker: str, on: DateLike | None = None) -> str:
    """Record that ``ticker`` joined ``name`` on ``on`` (default today); the clean ticker."""
    clean = normalize_ticker(ticker)
    with closing(open_db(db_path)) as db:
        WatchlistRepository(db).add(name, clean, _change_date(on, "date added"))
    return clean


def remove_from_watchlist(
    db_path: DbPath, name: str, ticker: str, on: DateLike | None = None
) -> str:
    """Record that ``ticker`` left ``name`` on ``on`` (default today): its history and its
    prices stay, so studies of earlier dates still count it."""
    clean = normalize_ticker(ticker)
    with closing(open_db(db_path)) as db:
        WatchlistRepository(db).remove(name, clean, _change_date(on, "removal date"))
    return clean


def delete_watchlist(db_path: DbPath, name: str) -> None:
    """Remove a watchlist (its tickers' prices stay)."""
    with closing(open_db(db_path)) as db:
        WatchlistRepository(db).delete(name)


def load_watchlists(db_path: DbPath) -> pd.DataFrame:
    """Every watchlist: name, description, updated_utc, tickers."""
    with closing(open_db(db_path)) as db:
        return WatchlistRepository(db).load_all()


def load_watchlist(db_path: DbPath, name: str) -> list[str]:
    """Current members of one watchlist."""
    with closing(open_db(db_path)) as db:
        return WatchlistRepository(db).load(name)


def load_membership(db_path: DbPath, name: str) -> pd.DataFrame:
    """One watchlist's membership history: ticker, added, removed (NaT: since its data
    starts / still a member)."""
    with closing(open_db(db_path)) as db:
        return WatchlistRepository(db).membership(name)


def load_universe(
    db_path: DbPath, name: str, start: DateLike | None = None, end: DateLike | None = None
) -> UniverseWindow:
    """The point-in-time universe of watchlist ``name`` over [start, end]: every ticker
    that was a member on some date of it, the spells that mask the rest, and how many
    joined or left inside it."""
    return universe_window(load_membership(db_path, name), start, end)


def load_prices(
    db_path: DbPath,
    tickers: Sequence[str] | None = None,
    start: pd.Timestamp | None = None,
    end: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Stored normalized prices (all tickers when None)."""
    with closing(open_db(db_path)) as db:
        return PriceRepository(db).load(tickers, start, end)


def load_freshness(
    db_path: DbPath, as_of: pd.Timestamp, tickers: Sequence[str] | None = None
) -> pd.DataFrame:
    """Coverage and staleness per ticker against the NYSE calendar at ``as_of``.

    With ``tickers``, one row each, "no data" for those never stored.
    """
    with closing(open_db(db_path)) as db:
        coverage = PriceRepository(db).load_coverage()
    if tickers is not None:
        coverage = pd.DataFrame({"ticker": list(tickers)}).merge(coverage, on="ticker", how="left")
    return compute_staleness(coverage, as_of)


def load_ingestion_log(db_path: DbPath, limit: int = 50) -> pd.DataFrame:
    """Newest logged batches first."""
    with closing(open_db(db_path)) as db:
        return IngestionRepository(db).load_log(limit)


def load_findings(db_path: DbPath, ticker: str | None = None) -> pd.DataFrame:
    """Quality findings of stored batches, newest first."""
    with closing(open_db(db_path)) as db:
        return IngestionRepository(db).load_findings(ticker)


def data_version(db_path: DbPath) -> int:
    """Changes whenever a batch is stored: a cache key for loaders."""
    with closing(open_db(db_path)) as db:
        return IngestionRepository(db).latest_id()
