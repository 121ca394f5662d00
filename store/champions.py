"""The champion's history (``champions``): each promotion, each challenger kept as a
challenger and each rollback, with its reason; and the retraining policy in force."""

from __future__ import annotations

import json

import pandas as pd
from sqlite_utils import Database

from store.db import StoreError, write_transaction
from store.migrations import utc_now

CHAMPION_COLUMNS = ("id", "changed_utc", "run_id", "previous_run_id", "reason", "kind")
CHAMPION_KINDS = ("promoted", "kept", "rollback")


class ChampionRepository:
    """The ``champions`` table, one row per decision, oldest first by ``id``.

    ``promoted``: ``run_id`` became the champion after ``previous_run_id`` (None for the
    first one); ``kept``: the challenger ``run_id`` stays a challenger and
    ``previous_run_id`` stays the champion; ``rollback``: ``run_id`` is the champion again
    in place of ``previous_run_id``.
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, kind: str, run_id: str, previous_run_id: str | None, reason: str) -> int:
        """Append one decision; return its id. Call inside the write transaction that
        activates the run, so the decision and the active run change together."""
        if kind not in CHAMPION_KINDS:
            raise StoreError(f"a champion change is one of {CHAMPION_KINDS}, not {kind!r}")
        with write_transaction(self.db):
            cursor = self.db.execute(
                "INSERT INTO champions (changed_utc, run_id, previous_run_id, reason, kind) "
                "VALUES (?, ?, ?, ?, ?)",
                (utc_now(), run_id, previous_run_id, reason, kind),
            )
            return int(cursor.lastrowid)

    def history(self) -> pd.DataFrame:
        """Every decision, oldest first (``CHAMPION_COLUMNS``)."""
        rows = self.db.execute(
            f"SELECT {', '.join(CHAMPION_COLUMNS)} FROM champions ORDER BY id"
        ).fetchall()
        return pd.DataFrame(rows, columns=list(CHAMPION_COLUMNS))


class RetrainPolicyRepository:
    """The retraining policy in force (``retrain_policy``: one row, or none: no policy)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self) -> dict | None:
        row = self.db.execute("SELECT policy_json FROM retrain_policy WHERE id = 1").fetchone()
        return None if row is None else json.loads(row[0])

    def set(self, policy: dict | None) -> None:
        """Store ``policy`` (None: remove it, so nothing retrains by itself)."""
        with write_transaction(self.db):
            if policy is None:
                self.db.execute("DELETE FROM retrain_policy")
            else:
                self.db.execute(
                    "INSERT OR REPLACE INTO retrain_policy (id, policy_json, updated_utc) "
                    "VALUES (1, ?, ?)",
                    (json.dumps(policy), utc_now()),
                )
