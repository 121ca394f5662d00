"""The ingestion log: one row per batch that changed the store, with its findings.

A batch that was rejected whole changes nothing, not even this log: its report goes back
to the caller instead, so a rejected ingest leaves the database byte-for-byte unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pandas as pd
from sqlite_utils import Database

from store.db import write_transaction
from store.migrations import utc_now

_FINDING_COLUMNS = ("ticker", "check_name", "severity", "count", "first_date", "message")


class IngestionRepository:
    """``ingestion_log`` and ``ingestion_findings``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(
        self,
        *,
        source: str,
        tickers: Sequence[str],
        rows: int,
        status: str,
        message: str,
        findings: pd.DataFrame,
    ) -> int:
        """Insert a log row and its findings (columns ticker, check, severity, count,
        first_date, message); return the new log id."""
        with write_transaction(self.db):
            cursor = self.db.execute(
                "INSERT INTO ingestion_log (source, fetched_at_utc, tickers, rows, status, "
                "message) VALUES (?, ?, ?, ?, ?, ?)",
                (source, utc_now(), json.dumps(list(tickers)), rows, status, message),
            )
            log_id = int(cursor.lastrowid)
            records = findings.rename(columns={"check": "check_name"})[list(_FINDING_COLUMNS)]
            self.db.conn.executemany(
                "INSERT INTO ingestion_findings (ingestion_id, ticker, check_name, severity, "
                "count, first_date, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(log_id, *row) for row in records.itertuples(index=False, name=None)],
            )
        return log_id

    def load_log(self, limit: int = 50) -> pd.DataFrame:
        """Newest batches first: id, source, fetched_at_utc, tickers, rows, status, message,
        warnings (count of warning findings)."""
        sql = """
        SELECT l.id, l.source, l.fetched_at_utc, l.tickers, l.rows, l.status, l.message,
               (SELECT COUNT(*) FROM ingestion_findings f
                WHERE f.ingestion_id = l.id AND f.severity = 'warning') AS warnings
        FROM ingestion_log l ORDER BY l.id DESC LIMIT ?
        """
        columns = [
            "id",
            "source",
            "fetched_at_utc",
            "tickers",
            "rows",
            "status",
            "message",
            "warnings",
        ]
        return pd.DataFrame(list(self.db.query(sql, [limit])), columns=columns)

    def load_findings(self, ticker: str | None = None) -> pd.DataFrame:
        """Findings of logged batches, newest first, optionally for one ticker."""
        where, params = ("WHERE f.ticker = ?", [ticker]) if ticker else ("", [])
        sql = f"""
        SELECT f.ingestion_id, l.fetched_at_utc, f.ticker, f.check_name AS "check",
               f.severity, f.count, f.first_date, f.message
        FROM ingestion_findings f JOIN ingestion_log l ON l.id = f.ingestion_id
        {where} ORDER BY f.ingestion_id DESC, f.ticker
        """
        columns = [
            "ingestion_id",
            "fetched_at_utc",
            "ticker",
            "check",
            "severity",
            "count",
            "first_date",
            "message",
        ]
        return pd.DataFrame(list(self.db.query(sql, params)), columns=columns)

    def latest_id(self) -> int:
        """Id of the newest logged batch (0 when none): a cheap data-version token."""
        return self.db.conn.execute("SELECT COALESCE(MAX(id), 0) FROM ingestion_log").fetchone()[0]
