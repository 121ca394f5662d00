"""Alerts raised and their delivery per channel (tables ``alerts``, ``alert_deliveries``).

``claim`` is the de-duplication: it inserts the event and its pending deliveries in one
transaction, or nothing when the event id is already there.
"""

from __future__ import annotations

import pandas as pd
from sqlite_utils import Database

from store.db import write_transaction
from store.migrations import utc_now

LOG_COLUMNS = (
    "event_id", "created_utc", "kind", "title", "channel", "status", "attempts", "reason",
)  # fmt: skip


class AlertRepository:
    """Tables ``alerts`` and ``alert_deliveries``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def claim(
        self, event_id: str, kind: str, title: str, body: str, channels: tuple[str, ...]
    ) -> bool:
        """Record the event with a pending delivery per channel; False (nothing written)
        when the event id was claimed before, by this process or another."""
        now = utc_now()
        with write_transaction(self.db):
            cursor = self.db.execute(
                "INSERT OR IGNORE INTO alerts (event_id, kind, title, body, created_utc) "
                "VALUES (?, ?, ?, ?, ?)",
                (event_id, kind, title, body, now),
            )
            if cursor.rowcount != 1:
                return False
            self.db.conn.executemany(
                "INSERT INTO alert_deliveries (event_id, channel, status, updated_utc) "
                "VALUES (?, ?, 'pending', ?)",
                [(event_id, channel, now) for channel in channels],
            )
        return True

    def record(
        self, event_id: str, channel: str, status: str, attempts: int, reason: str = ""
    ) -> None:
        """A channel's delivery status: pending (with the attempts so far), sent or failed."""
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE alert_deliveries SET status = ?, attempts = ?, reason = ?, "
                "updated_utc = ? WHERE event_id = ? AND channel = ?",
                (status, attempts, reason[:500], utc_now(), event_id, channel),
            )

    def latest_event(self, kind: str) -> str | None:
        """The id of the newest alert of ``kind``, None before the first."""
        row = self.db.execute(
            "SELECT event_id FROM alerts WHERE kind = ? ORDER BY created_utc DESC, rowid DESC "
            "LIMIT 1",
            (kind,),
        ).fetchone()
        return None if row is None else str(row[0])

    def log(self, limit: int) -> pd.DataFrame:
        """The newest ``limit`` alerts, newest first, one row per channel (``LOG_COLUMNS``;
        an alert without a channel has one row with channel and status empty)."""
        rows = self.db.execute(
            "SELECT a.event_id, a.created_utc, a.kind, a.title, d.channel, d.status, "
            "d.attempts, d.reason FROM (SELECT rowid AS seq, * FROM alerts "
            "ORDER BY created_utc DESC, seq DESC LIMIT ?) a "
            "LEFT JOIN alert_deliveries d ON d.event_id = a.event_id "
            "ORDER BY a.created_utc DESC, a.seq DESC, d.channel",
            (limit,),
        ).fetchall()
        return pd.DataFrame(rows, columns=list(LOG_COLUMNS))
