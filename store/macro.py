"""Macro observations, point in time: each value with the date from which it was known."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlite_utils import Database

from store.db import iso_date, iso_dates, parse_iso_dates, write_transaction
from store.migrations import utc_now

_COLUMNS = ("series_id", "date", "value", "known_date", "realtime_start", "source")
_DATES = ("date", "known_date", "realtime_start")
_UPSERT = """
INSERT INTO macro_observations (series_id, date, value, known_date, realtime_start, source,
                                fetched_utc)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (series_id, date, known_date) DO UPDATE SET
    value = excluded.value, realtime_start = excluded.realtime_start,
    source = excluded.source, fetched_utc = excluded.fetched_utc
"""


class MacroRepository:
    """The ``macro_observations`` table. Returns DataFrames."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def upsert(self, rows: pd.DataFrame) -> int:
        """Write rows (columns ``series_id, date, value, known_date, realtime_start,
        source``; NaN value -> NULL) in one transaction; return how many."""
        fetched = utc_now()
        columns = [
            rows["series_id"].astype(str).tolist(),
            iso_dates(rows["date"]),
            rows["value"].to_numpy(dtype="float64").tolist(),
            iso_dates(rows["known_date"]),
            iso_dates(rows["realtime_start"]),
            rows["source"].astype(str).tolist(),
            [fetched] * len(rows),
        ]
        with write_transaction(self.db):
            self.db.conn.executemany(_UPSERT, zip(*columns, strict=True))
        return len(rows)

    def load(
        self, series: Sequence[str] | None = None, known_by: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """Every stored row (all revisions) with ``known_date <= known_by``.

        Returns
        -------
        DataFrame, columns ``series_id, date, value, known_date, realtime_start, source``,
        sorted by series, known date, date; dates datetime64[ns], NULL values NaN.
        """
        clauses, params = [], []
        if series is not None:
            clauses.append(f"series_id IN ({', '.join('?' * len(series))})")
            params += list(series)
        if known_by is not None:
            clauses.append("known_date <= ?")
            params.append(iso_date(known_by))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = (
            f"SELECT {', '.join(_COLUMNS)} FROM macro_observations {where} "
            "ORDER BY series_id, known_date, date"
        )
        frame = pd.DataFrame.from_records(
            self.db.conn.execute(sql, params).fetchall(), columns=list(_COLUMNS)
        )
        frame = parse_iso_dates(frame, _DATES)
        frame["value"] = pd.to_numeric(frame["value"]).astype("float64")
        return frame.astype({"series_id": str, "source": str})

    def load_summary(self) -> pd.DataFrame:
        """One row per series: first and last observation, rows, newest known date,
        source, last fetch."""
        sql = """
        SELECT series_id, MIN(date) AS first_date, MAX(date) AS last_date, COUNT(*) AS rows,
               COUNT(value) AS values_present, MAX(known_date) AS last_known,
               MAX(source) AS source, MAX(fetched_utc) AS fetched_utc
        FROM macro_observations GROUP BY series_id ORDER BY series_id
        """
        columns = [
            "series_id", "first_date", "last_date", "rows", "values_present", "last_known",
            "source", "fetched_utc",
        ]  # fmt: skip
        frame = pd.DataFrame.from_records(self.db.conn.execute(sql).fetchall(), columns=columns)
        return parse_iso_dates(frame, ["first_date", "last_date", "last_known"])
