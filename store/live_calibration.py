"""Live recalibration versions: each map fitted on a run's live record, append-only.

A version is only ever added (version numbers 1, 2, ... per run); the table's triggers
(migration 26) refuse UPDATE and DELETE and ignore a second copy of a (run, version).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
from sqlite_utils import Database

from store.db import iso_date, parse_iso_dates, write_transaction
from store.migrations import utc_now

COLUMNS = (
    "run_id", "version", "fitted_as_of", "outcomes", "first_outcome_date",
    "last_outcome_date", "params", "shrinkage", "created_utc",
)  # fmt: skip
DATE_COLUMNS = ("fitted_as_of", "first_outcome_date", "last_outcome_date")


@dataclass(frozen=True)
class LiveCalibrationRecord:
    """One stored version of a run's live map.

    Attributes
    ----------
    run_id : str
    version : int
        1 for the run's first, then one more each refit.
    fitted_as_of : Timestamp
        Fitted on outcomes dated on or before this session only; in force from it.
    outcomes : int
        Scored forecasts the fit used.
    first_outcome_date, last_outcome_date : Timestamp or None
        Their oldest and newest outcome dates (None when it used none).
    params : dict
        The map and its fit (``engine.modeling.live_calibration.LiveCalibrationFit.params``).
    shrinkage : float
        The weight on the fitted map, in [0, 1] (the rest stays on the identity).
    created_utc : str
    """

    run_id: str
    version: int
    fitted_as_of: pd.Timestamp
    outcomes: int
    first_outcome_date: pd.Timestamp | None
    last_outcome_date: pd.Timestamp | None
    params: dict
    shrinkage: float
    created_utc: str


class LiveCalibrationRepository:
    """Table ``live_calibrations``. Writes run inside the caller's transaction, or their
    own."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def append(
        self,
        run_id: str,
        fitted_as_of: pd.Timestamp,
        *,
        outcomes: int,
        outcome_dates: tuple[pd.Timestamp | None, pd.Timestamp | None],
        params: dict,
        shrinkage: float,
    ) -> int:
        """Add the run's next version and return its number (one more than the newest)."""
        first, last = (None if d is None or pd.isna(d) else iso_date(d) for d in outcome_dates)
        with write_transaction(self.db):
            (newest,) = self.db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM live_calibrations WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            values = (
                run_id, newest + 1, iso_date(fitted_as_of), int(outcomes), first, last,
                json.dumps(params, sort_keys=True), float(shrinkage), utc_now(),
            )  # fmt: skip
            self.db.execute(
                f"INSERT INTO live_calibrations ({', '.join(COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(COLUMNS))})",
                values,
            )
        return newest + 1

    def versions(self, run_id: str, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
        """The run's versions fitted on or before ``as_of`` (None: all), oldest first:
        ``COLUMNS`` with dates parsed and ``params`` as dicts."""
        condition, bound = "run_id = ?", (run_id,)
        if as_of is not None:
            condition, bound = f"{condition} AND fitted_as_of <= ?", (run_id, iso_date(as_of))
        rows = self.db.execute(
            f"SELECT {', '.join(COLUMNS)} FROM live_calibrations WHERE {condition} "
            "ORDER BY fitted_as_of, version",
            bound,
        ).fetchall()
        frame = pd.DataFrame(rows, columns=list(COLUMNS))
        frame["params"] = [json.loads(text) for text in frame["params"]]
        return parse_iso_dates(frame.astype({"shrinkage": float}), DATE_COLUMNS)

    def in_force(
        self, run_id: str, as_of: pd.Timestamp | None = None
    ) -> LiveCalibrationRecord | None:
        """The version in force at ``as_of``: the newest fitted on or before it (None:
        the newest of all); None when there is none."""
        versions = self.versions(run_id, as_of)
        if versions.empty:
            return None
        row = versions.iloc[-1]
        dates = {c: None if pd.isna(row[c]) else pd.Timestamp(row[c]) for c in DATE_COLUMNS}
        return LiveCalibrationRecord(
            run_id=str(row["run_id"]),
            version=int(row["version"]),
            outcomes=int(row["outcomes"]),
            params=dict(row["params"]),
            shrinkage=float(row["shrinkage"]),
            created_utc=str(row["created_utc"]),
            **dates,
        )
