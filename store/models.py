"""Model runs (the registry behind the Training page) and the one-job training lock."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd
from sqlite_utils import Database

from store.db import StoreError, write_transaction
from store.migrations import utc_now

RUN_COLUMNS = (
    "run_id",
    "created_utc",
    "finished_utc",
    "status",
    "origin",
    "params_json",
    "metrics_json",
    "files_json",
    "artifact_dir",
    "feature_version",
    "data_hash",
    "code_version",
    "message",
    "active",
    "trained_through",
    "construction_json",
    "trained_through_verified",
)


class TrainingBusyError(StoreError):
    """Another training job holds the lock."""


@dataclass(frozen=True)
class ModelRun:
    """One registered run. ``params`` is the run's training configuration as JSON
    (engine.modeling.training.TrainConfig.from_dict rebuilds it); ``trained_through`` is
    the newest label end date it learned from (ISO date; None for runs registered before
    it was recorded); ``construction`` is the portfolio construction it is traded with
    (engine.trading.construction.ConstructionParams.from_dict; None: its kind's default);
    ``trained_through_verified`` is None for a run trained here, else whether an imported
    run's claimed trained-through date was checked against the outcomes in its bundle."""

    run_id: str
    created_utc: str
    finished_utc: str | None
    status: str
    origin: str
    params: dict
    metrics: dict | None
    files: dict[str, str] | None
    artifact_dir: str | None
    feature_version: str | None
    data_hash: str | None
    code_version: str | None
    message: str | None
    active: bool
    trained_through: str | None
    construction: dict | None = None
    trained_through_verified: bool | None = None


@dataclass(frozen=True)
class TrainingLock:
    run_id: str
    pid: int
    started_utc: str


class ModelRunRepository:
    """The ``model_runs`` and ``training_lock`` tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def start(self, run_id: str, params: dict, origin: str = "local") -> None:
        with write_transaction(self.db):
            self.db.execute(
                "INSERT INTO model_runs (run_id, created_utc, status, origin, params_json) "
                "VALUES (?, ?, 'running', ?, ?)",
                (run_id, utc_now(), origin, json.dumps(params, sort_keys=True, default=str)),
            )

    def complete(
        self,
        run_id: str,
        *,
        metrics: dict,
        files: dict[str, str],
        artifact_dir: str,
        feature_version: str,
        data_hash: str,
        code_version: str,
        trained_through: str | None,
        params: dict | None = None,
        trained_through_verified: bool | None = None,
    ) -> None:
        """Mark the run complete; ``params`` replaces the configuration it started with
        (a tuned run records the settings it was trained with); ``trained_through_verified``
        only for an imported run (see ``ModelRun``)."""
        with write_transaction(self.db):
            if params is not None:
                self.db.execute(
                    "UPDATE model_runs SET params_json = ? WHERE run_id = ?",
                    (json.dumps(params, sort_keys=True, default=str), run_id),
                )
            self.db.execute(
                "UPDATE model_runs SET status = 'complete', finished_utc = ?, metrics_json = ?, "
                "files_json = ?, artifact_dir = ?, feature_version = ?, data_hash = ?, "
                "code_version = ?, trained_through = ?, trained_through_verified = ? "
                "WHERE run_id = ?",
                (
                    utc_now(),
                    json.dumps(metrics, sort_keys=True, default=str),
                    json.dumps(files, sort_keys=True),
                    artifact_dir,
                    feature_version,
                    data_hash,
                    code_version,
                    trained_through,
                    trained_through_verified,
                    run_id,
                ),
            )

    def update_files(self, run_id: str, files: dict[str, str], trained_through: str) -> None:
        """Replace a complete run's file hashes (its bundle was rewritten in place) and
        record its trained-through date."""
        with write_transaction(self.db):
            changed = self.db.execute(
                "UPDATE model_runs SET files_json = ?, trained_through = ? "
                "WHERE run_id = ? AND status = 'complete'",
                (json.dumps(files, sort_keys=True), trained_through, run_id),
            ).rowcount
            if changed != 1:
                raise StoreError(f"run {run_id!r} is not a complete model run")

    def set_construction(self, run_id: str, construction: dict) -> None:
        """Record the portfolio construction a complete run is traded with."""
        with write_transaction(self.db):
            changed = self.db.execute(
                "UPDATE model_runs SET construction_json = ? "
                "WHERE run_id = ? AND status = 'complete'",
                (json.dumps(construction, sort_keys=True), run_id),
            ).rowcount
            if changed != 1:
                raise StoreError(f"run {run_id!r} is not a complete model run")

    def fail(self, run_id: str, message: str) -> None:
        """Mark a run failed (only one that is still running)."""
        with write_transaction(self.db):
            self.db.execute(
                "UPDATE model_runs SET status = 'failed', finished_utc = ?, message = ? "
                "WHERE run_id = ? AND status = 'running'",
                (utc_now(), message[:2000], run_id),
            )

    def activate(self, run_id: str) -> None:
        """Make a complete run the active model (the only one)."""
        with write_transaction(self.db):
            row = self.db.execute(
                "SELECT status FROM model_runs WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is None or row[0] != "complete":
                raise StoreError(f"run {run_id!r} is not a complete model run")
            self.db.execute("UPDATE model_runs SET active = 0 WHERE active = 1")
            self.db.execute("UPDATE model_runs SET active = 1 WHERE run_id = ?", (run_id,))

    def get(self, run_id: str) -> ModelRun | None:
        row = self.db.execute(
            f"SELECT {', '.join(RUN_COLUMNS)} FROM model_runs WHERE run_id = ?", (run_id,)
        ).fetchone()
        if row is None:
            return None
        return ModelRun(**_decode(dict(zip(RUN_COLUMNS, row, strict=True))))

    def active(self) -> ModelRun | None:
        row = self.db.execute("SELECT run_id FROM model_runs WHERE active = 1").fetchone()
        return None if row is None else self.get(row[0])

    def load_all(self) -> pd.DataFrame:
        """Every run, newest first (JSON columns decoded)."""
        columns = ", ".join(RUN_COLUMNS)
        rows = self.db.execute(
            f"SELECT {columns} FROM model_runs ORDER BY created_utc DESC, run_id DESC"
        ).fetchall()
        return pd.DataFrame(
            [_decode(dict(zip(RUN_COLUMNS, r, strict=True))) for r in rows],
            columns=[c.removesuffix("_json") for c in RUN_COLUMNS],
        )

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM model_runs").fetchone()[0]

    # --- the training lock -----------------------------------------------------------

    def acquire_lock(self, run_id: str, pid: int) -> None:
        """Take the one training slot, or raise TrainingBusyError naming the holder.

        A lock already held for the same ``run_id`` (the page takes it before starting the
        training process) passes to ``pid``.
        """
        with write_transaction(self.db):
            held = self.lock()
            if held is not None and held.run_id == run_id:
                self.db.execute("UPDATE training_lock SET pid = ? WHERE id = 1", (pid,))
                return
            if held is not None:
                raise TrainingBusyError(
                    f"training run {held.run_id} (process {held.pid}) is already running"
                )
            self.db.execute(
                "INSERT INTO training_lock (id, run_id, pid, started_utc) VALUES (1, ?, ?, ?)",
                (run_id, pid, utc_now()),
            )

    def release_lock(self, run_id: str) -> None:
        with write_transaction(self.db):
            self.db.execute("DELETE FROM training_lock WHERE run_id = ?", (run_id,))

    def lock(self) -> TrainingLock | None:
        row = self.db.execute("SELECT run_id, pid, started_utc FROM training_lock").fetchone()
        return None if row is None else TrainingLock(*row)


def _decode(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if key.endswith("_json"):
            out[key.removesuffix("_json")] = json.loads(value) if value else None
        else:
            out[key] = value
    out["active"] = bool(out["active"])
    if out["trained_through_verified"] is not None:
        out["trained_through_verified"] = bool(out["trained_through_verified"])
    return out
