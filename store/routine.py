"""The daily routine's record: each session's steps and how they ended (``routine_steps``)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlite_utils import Database

from store.db import iso_date, write_transaction
from store.migrations import utc_now

STEP_COLUMNS = ("session", "step", "status", "detail", "started_utc", "finished_utc")


class RoutineRepository:
    """The ``routine_steps`` table: a step starts as "running" and ends done, skipped or
    failed; a step left running (the routine was killed inside it) is unfinished."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, session: pd.Timestamp, step: str) -> None:
        with write_transaction(self.db):
            self.db.execute(
                "INSERT INTO routine_steps (session, step, status, detail, started_utc) "
                "VALUES (?, ?, 'running', '', ?) ON CONFLICT (session, step) DO UPDATE SET "
                "status = 'running', detail = '', started_utc = excluded.started_utc, "
                "finished_utc = NULL",
                (iso_date(session), step, utc_now()),
            )

    def finish(self, session: pd.Timestamp, step: str, status: str, detail: str) -> None:
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE routine_steps SET status = ?, detail = ?, finished_utc = ? "
                "WHERE session = ? AND step = ?",
                (status, detail, utc_now(), iso_date(session), step),
            )

    def done(self, session: pd.Timestamp) -> set[str]:
        """The session's steps that are finished (done or skipped)."""
        rows = self.db.execute(
            "SELECT step FROM routine_steps WHERE session = ? AND status IN ('done', 'skipped')",
            (iso_date(session),),
        ).fetchall()
        return {r[0] for r in rows}

    def unfinished(self, steps: Sequence[str]) -> list[pd.Timestamp]:
        """Sessions the routine started whose ``steps`` are not all finished, oldest first."""
        rows = self.db.execute(
            "SELECT session, COUNT(*) FROM routine_steps WHERE status IN ('done', 'skipped') "
            "GROUP BY session"
        ).fetchall()
        finished = dict(rows)
        sessions = [r[0] for r in self.db.execute("SELECT DISTINCT session FROM routine_steps")]
        return sorted(pd.Timestamp(s) for s in sessions if finished.get(s, 0) < len(steps))

    def last_session(self) -> pd.Timestamp | None:
        row = self.db.execute("SELECT MAX(session) FROM routine_steps").fetchone()
        return None if row is None or row[0] is None else pd.Timestamp(row[0])

    def history(self, limit: int = 200) -> pd.DataFrame:
        """The newest steps first (``STEP_COLUMNS``)."""
        rows = self.db.execute(
            f"SELECT {', '.join(STEP_COLUMNS)} FROM routine_steps "
            "ORDER BY session DESC, started_utc DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return pd.DataFrame(rows, columns=list(STEP_COLUMNS))
