"""The live record: forecasts as they were made and their outcomes, append-only.

Rows are only ever added, with ``INSERT ... ON CONFLICT DO NOTHING``: a forecast (or an
outcome) recorded again for the same run, as-of date and ticker is left as it was. The
tables' triggers (migration 21) refuse UPDATE and DELETE, and, since ``open_db`` turns
recursive triggers on, the delete an ``INSERT OR REPLACE`` would make as well.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlite_utils import Database

from store.db import iso_dates, parse_iso_dates, write_transaction
from store.migrations import utc_now

KEY = ("run_id", "as_of", "ticker")
FORECAST_COLUMNS = (
    *KEY, "horizon", "score", "p", "rank", "percentile", "reasons_digest",
)  # fmt: skip
OUTCOME_COLUMNS = (*KEY, "outcome_date", "excess", "beat")
DATE_COLUMNS = ("as_of", "outcome_date")
REAL_COLUMNS = ("score", "p", "percentile", "excess", "beat")  # NULL reads back as NaN


class LiveRecordRepository:
    """Tables ``live_forecasts`` and ``live_outcomes``. Writes run inside the caller's
    transaction, or their own."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record_forecasts(self, frame: pd.DataFrame) -> int:
        """Append forecasts.

        Parameters
        ----------
        frame : DataFrame of shape (n, 9)
            ``FORECAST_COLUMNS``; ``as_of`` as dates (NaN scores are stored as NULL).

        Returns
        -------
        int
            Forecasts newly recorded: one already recorded for the same run, as-of date
            and ticker is left as it was and not counted.
        """
        return self._append("live_forecasts", FORECAST_COLUMNS, "recorded_utc", frame)

    def record_outcomes(self, frame: pd.DataFrame) -> int:
        """Append outcomes: ``frame`` of shape (n, 6), ``OUTCOME_COLUMNS`` (``as_of`` and
        ``outcome_date`` as dates; NaN ``excess`` and ``beat`` stored as NULL). Returns how
        many were new; an outcome already recorded is left as it was."""
        return self._append("live_outcomes", OUTCOME_COLUMNS, "scored_utc", frame)

    def _append(self, table: str, columns: Sequence[str], stamp: str, frame: pd.DataFrame) -> int:
        if frame.empty:
            return 0
        values = [
            iso_dates(pd.to_datetime(frame[c])) if c in DATE_COLUMNS
            else frame[c].astype(object).where(frame[c].notna(), None).tolist()
            for c in columns
        ]  # fmt: skip
        now = [utc_now()] * len(frame)
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}, {stamp}) "
            f"VALUES ({', '.join('?' * (len(columns) + 1))}) "
            f"ON CONFLICT ({', '.join(KEY)}) DO NOTHING"
        )
        with write_transaction(self.db):
            cursor = self.db.conn.executemany(sql, zip(*values, now, strict=True))
        return cursor.rowcount

    def forecasts(self, run_id: str | None = None) -> pd.DataFrame:
        """Recorded forecasts (of every run when ``run_id`` is None), ordered by run,
        as-of date and ticker: ``FORECAST_COLUMNS`` and ``recorded_utc``; ``as_of`` parsed."""
        return self._read("live_forecasts", FORECAST_COLUMNS, "recorded_utc", run_id)

    def outcomes(self, run_id: str | None = None) -> pd.DataFrame:
        """Recorded outcomes, ordered as ``forecasts``: ``OUTCOME_COLUMNS`` and
        ``scored_utc``; ``as_of`` and ``outcome_date`` parsed."""
        return self._read("live_outcomes", OUTCOME_COLUMNS, "scored_utc", run_id)

    def scored(self, run_id: str) -> pd.DataFrame:
        """The run's forecasts that have an outcome, ordered as ``forecasts``: the
        forecast's columns with ``outcome_date``, ``excess`` and ``beat``."""
        outcomes = self.outcomes(run_id)[list(OUTCOME_COLUMNS)]
        return self.forecasts(run_id).merge(outcomes, on=list(KEY))

    def unscored(self, run_id: str | None = None) -> pd.DataFrame:
        """The recorded forecasts that have no outcome yet (columns as ``forecasts``)."""
        scored = (
            "EXISTS (SELECT 1 FROM live_outcomes o WHERE o.run_id = f.run_id "
            "AND o.as_of = f.as_of AND o.ticker = f.ticker)"
        )
        return self._read(
            "live_forecasts", FORECAST_COLUMNS, "recorded_utc", run_id, f"NOT {scored}"
        )

    def _read(
        self,
        table: str,
        columns: Sequence[str],
        stamp: str,
        run_id: str | None,
        condition: str = "1",
    ) -> pd.DataFrame:
        names = [*columns, stamp]
        params: tuple = ()
        if run_id is not None:
            condition, params = f"{condition} AND run_id = ?", (run_id,)
        rows = self.db.execute(
            f"SELECT {', '.join(names)} FROM {table} f WHERE {condition} ORDER BY {', '.join(KEY)}",
            params,
        ).fetchall()
        frame = pd.DataFrame(rows, columns=names)
        frame = frame.astype({c: float for c in names if c in REAL_COLUMNS})
        return parse_iso_dates(frame, [c for c in names if c in DATE_COLUMNS])
