"""Saved ablation studies, reloadable on the Ablation page."""

from __future__ import annotations

import json

import pandas as pd
from sqlite_utils import Database

from store.db import write_transaction
from store.migrations import utc_now


class AblationRepository:
    """The ``ablation_runs`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, config: dict, table: pd.DataFrame, steps: pd.DataFrame) -> int:
        with write_transaction(self.db):
            cursor = self.db.execute(
                "INSERT INTO ablation_runs (created_utc, config_json, table_json, steps_json) "
                "VALUES (?, ?, ?, ?)",
                (
                    utc_now(),
                    json.dumps(config, default=str),
                    table.to_json(orient="records"),
                    steps.to_json(orient="records"),
                ),
            )
        return int(cursor.lastrowid)

    def list(self) -> pd.DataFrame:
        rows = self.db.execute(
            "SELECT id, created_utc, config_json FROM ablation_runs ORDER BY id DESC"
        ).fetchall()
        return pd.DataFrame(rows, columns=["id", "created_utc", "config"])

    def load(self, run_id: int) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
        row = self.db.execute(
            "SELECT config_json, table_json, steps_json FROM ablation_runs WHERE id = ?", (run_id,)
        ).fetchone()
        if row is None:
            raise KeyError(f"no ablation study {run_id}")
        return (
            json.loads(row[0]),
            pd.DataFrame(json.loads(row[1])),
            pd.DataFrame(json.loads(row[2])),
        )
