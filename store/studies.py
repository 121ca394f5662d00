"""Saved studies, reloadable on their pages: ablations (a table per variant and one per
step), model zoos (a table per learner and one per pair of learners) and signal studies
(a table per horizon and the average path)."""

from __future__ import annotations

import json

import pandas as pd
from sqlite_utils import Database

from store.db import write_transaction
from store.migrations import utc_now


class StudyRepository:
    """A study table: ``config_json``, ``table_json`` and a second table in ``second``
    (the table and column names are this module's constants, never input)."""

    def __init__(self, db: Database, table: str, second: str) -> None:
        self.db, self.table, self.second = db, table, second

    def save(self, config: dict, table: pd.DataFrame, second: pd.DataFrame) -> int:
        with write_transaction(self.db):
            cursor = self.db.execute(
                f"INSERT INTO {self.table} (created_utc, config_json, table_json, {self.second}) "
                "VALUES (?, ?, ?, ?)",
                (
                    utc_now(),
                    json.dumps(config, default=str),
                    table.to_json(orient="records"),
                    second.to_json(orient="records"),
                ),
            )
        return int(cursor.lastrowid)

    def list(self) -> pd.DataFrame:
        rows = self.db.execute(
            f"SELECT id, created_utc, config_json FROM {self.table} ORDER BY id DESC"
        ).fetchall()
        return pd.DataFrame(rows, columns=["id", "created_utc", "config"])

    def load(self, study_id: int) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
        row = self.db.execute(
            f"SELECT config_json, table_json, {self.second} FROM {self.table} WHERE id = ?",
            (study_id,),
        ).fetchone()
        if row is None:
            raise KeyError(f"no study {study_id} in {self.table}")
        return (
            json.loads(row[0]),
            pd.DataFrame(json.loads(row[1])),
            pd.DataFrame(json.loads(row[2])),
        )


# kind -> (table, the column of its second table)
STUDY_TABLES = {
    "ablation": ("ablation_runs", "steps_json"),  # the steps between variants
    "zoo": ("zoo_runs", "diversity_json"),  # pairs of learners, the ensembles' gains
    "signal": ("signal_studies", "path_json"),  # the average path around the events
    "policy": ("policy_runs", "daily_json"),  # each retraining policy's daily rank IC
}


def study_repository(db: Database, kind: str) -> StudyRepository:
    """The saved studies of ``kind`` (a key of ``STUDY_TABLES``)."""
    if kind not in STUDY_TABLES:
        raise ValueError(f"unknown study kind {kind!r}; known: {sorted(STUDY_TABLES)}")
    return StudyRepository(db, *STUDY_TABLES[kind])
