"""Model runs: training in this process, the registry, loading a registered model."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import subprocess
from contextlib import closing
from pathlib import Path

import pandas as pd

from engine.data.schema import Progress
from engine.features.cache import CacheSpec
from engine.modeling.artifacts import (
    read_bundle,
    read_predictions,
    write_bundle,
)
from engine.modeling.learner import MetaLearner
from engine.modeling.signing import signing_key
from engine.modeling.training import TrainConfig, build_dataset, data_hash, summarize_scores, train
from engine.workflows.convert import ensure_current_format
from engine.workflows.data import DbPath, load_prices
from engine.workflows.features import load_features, load_regime_history
from store.db import StoreError, open_db
from store.models import ModelRunRepository

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_ENV_VAR = "WORKBENCH_ARTIFACTS"


def artifacts_root() -> Path:
    """Where bundles live: $WORKBENCH_ARTIFACTS, or models/artifacts under the repo."""
    return Path(os.environ.get(ARTIFACTS_ENV_VAR) or REPO_ROOT / "models" / "artifacts")


RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def new_run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


def code_version() -> str:
    """The git commit of the repository, or 'unknown' outside a checkout."""
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip()


def train_model(
    db_path: DbPath,
    config: TrainConfig,
    *,
    run_id: str | None = None,
    progress: Progress | None = None,
) -> dict:
    """Train, score out of sample, write the bundle and register the run; return its record.

    Holds the store's training lock for the whole run (TrainingBusyError if another job
    has it). Any failure marks the run failed, leaves no bundle, and is raised.
    """
    run_id = run_id or new_run_id()
    root = artifacts_root()
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        runs.acquire_lock(run_id, os.getpid())
        try:
            runs.start(run_id, config.as_dict())
        except BaseException:
            runs.release_lock(run_id)
            raise
    try:
        if progress:
            progress(0.01, f"Loading features for {len(config.tickers)} tickers")
        features = load_features(db_path, config.tickers)
        prices = load_prices(db_path, list(config.tickers))
        regimes = load_regime_history(db_path)["regime_id"]
        data = build_dataset(features, prices, regimes, config)
        result = train(data, config, progress)
        used = prices[prices["date"] <= result.as_of]
        metrics = summarize_scores(result.scores)
        manifest = {
            "config": config.as_dict(),
            "metrics": metrics,
            "data_hash": data_hash(used),
            "code_version": code_version(),
            "feature_version": CacheSpec().version,
            "trained_through": result.as_of,
            "rows": result.rows,
        }
        hashes = write_bundle(
            result.model,
            root,
            run_id,
            manifest,
            predictions=result.walk_forward.predictions,
            baseline=result.baseline,
            signing_key=signing_key(),
        )
        with closing(open_db(db_path)) as db:
            ModelRunRepository(db).complete(
                run_id,
                metrics=metrics,
                files=hashes,
                artifact_dir=str(root / run_id),
                feature_version=manifest["feature_version"],
                data_hash=manifest["data_hash"],
                code_version=manifest["code_version"],
            )
        if progress:
            progress(1.0, f"Run {run_id} registered")
    except BaseException as exc:
        with closing(open_db(db_path)) as db:
            ModelRunRepository(db).fail(run_id, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        with closing(open_db(db_path)) as db:
            ModelRunRepository(db).release_lock(run_id)
    return load_run(db_path, run_id)


def load_run(db_path: DbPath, run_id: str) -> dict:
    with closing(open_db(db_path)) as db:
        record = ModelRunRepository(db).get(run_id)
    if record is None:
        raise StoreError(f"no model run {run_id!r} in the store")
    return record


def load_runs(db_path: DbPath) -> pd.DataFrame:
    """Every registered run, newest first."""
    with closing(open_db(db_path)) as db:
        return ModelRunRepository(db).load_all()


def activate_run(db_path: DbPath, run_id: str) -> None:
    with closing(open_db(db_path)) as db:
        ModelRunRepository(db).activate(run_id)


def load_model(db_path: DbPath, run_id: str | None = None) -> tuple[MetaLearner, dict]:
    """A registered model (the active one by default), after its files pass the hash check."""
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        record = runs.get(run_id) if run_id else runs.active()
    if record is None:
        raise StoreError(
            f"no model run {run_id!r}"
            if run_id
            else "no active model: train one or make one active"
        )
    if record["status"] != "complete":
        raise StoreError(f"model run {record['run_id']} is {record['status']}, not complete")
    record = ensure_current_format(db_path, record)  # a format-1 run trained here, once
    model, _ = read_bundle(Path(record["artifact_dir"]), record["files"])
    return model, record


def load_oos_predictions(db_path: DbPath, run_id: str | None = None) -> tuple[pd.DataFrame, dict]:
    """A run's walk-forward out-of-sample predictions (the active run by default)."""
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        record = runs.get(run_id) if run_id else runs.active()
    if record is None or record["status"] != "complete":
        raise StoreError("no complete model run to show: train one or make one active")
    record = ensure_current_format(db_path, record)
    return read_predictions(Path(record["artifact_dir"]), record["files"]), record
