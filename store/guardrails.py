"""Guardrail trips and resumes (``guardrail_trips``): which check tripped on which step,
its reading against its threshold, and who resumed trading and when.

A trip is recorded once per step date and check (``INSERT OR IGNORE``): a step that is
run again adds nothing.
"""

from __future__ import annotations

import pandas as pd
from sqlite_utils import Database

from store.db import iso_date, parse_iso_dates, write_transaction
from store.migrations import utc_now

TRIP_COLUMNS = (
    "step_date", "check_name", "reading", "threshold", "reason", "event", "actor", "recorded_utc",
)  # fmt: skip
RESUME_CHECK = "resume"


class GuardrailRepository:
    """Table ``guardrail_trips``. Writes run inside the caller's transaction, or their own."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record_trips(self, step_date: pd.Timestamp, trips: pd.DataFrame) -> int:
        """Record the checks that tripped on ``step_date``.

        Parameters
        ----------
        step_date : Timestamp
        trips : DataFrame of shape (n, 4)
            ``check_name``, ``reading``, ``threshold`` (NaN stored as NULL), ``reason``.

        Returns
        -------
        int
            Trips newly recorded (one already recorded for the date and check is not).
        """
        frame = trips[["check_name", "reading", "threshold", "reason"]]
        frame = frame.astype(object).where(frame.notna(), None)
        day, now = iso_date(step_date), utc_now()
        with write_transaction(self.db):
            cursor = self.db.conn.executemany(
                "INSERT OR IGNORE INTO guardrail_trips (step_date, check_name, reading, "
                "threshold, reason, event, recorded_utc) VALUES (?, ?, ?, ?, ?, 'tripped', ?)",
                [(day, *row, now) for row in frame.itertuples(index=False)],
            )
        return cursor.rowcount

    def record_resume(self, step_date: pd.Timestamp, reason: str, actor: str) -> None:
        """The user resumed trading after the step on ``step_date``; ``reason``: the pause
        it lifted, ``actor``: who."""
        with write_transaction(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO guardrail_trips (step_date, check_name, reason, event, "
                "actor, recorded_utc) VALUES (?, ?, ?, 'resumed', ?, ?)",
                (iso_date(step_date), RESUME_CHECK, reason, actor, utc_now()),
            )

    def history(self) -> pd.DataFrame:
        """Every trip and resume, oldest first (``TRIP_COLUMNS``; ``step_date`` parsed,
        NULL readings as NaN)."""
        rows = self.db.execute(
            f"SELECT {', '.join(TRIP_COLUMNS)} FROM guardrail_trips ORDER BY id"
        ).fetchall()
        frame = pd.DataFrame(rows, columns=list(TRIP_COLUMNS))
        frame = frame.astype({"reading": float, "threshold": float})
        return parse_iso_dates(frame, ["step_date"])
