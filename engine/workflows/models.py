"""Model runs: training (here or as a job), the registry, bundles, forecasts."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from engine.artifacts import (
    BUNDLE_FILES,
    ArtifactError,
    discard_bundle,
    manifest_hashes,
    read_bundle,
    read_predictions,
    write_bundle,
)
from engine.data.schema import Progress, normalize_tickers
from engine.explain import FORECAST_COLUMNS, Thresholds, compute_forecast_frame, compute_reasons
from engine.features.cache import CacheSpec
from engine.learner import REGIME_COLUMN, MetaLearner
from engine.training import TrainConfig, build_dataset, data_hash, summarize_scores, train
from engine.workflows.data import DbPath, load_prices
from engine.workflows.features import load_features, load_regime_history
from store.db import StoreError, default_db_path, open_db, write_transaction
from store.models import ModelRunRepository
from store.watchlists import WatchlistError as WatchlistError  # raised to pages

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_ENV_VAR = "WORKBENCH_ARTIFACTS"

# --- model runs ---------------------------------------------------------------------------


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
    model, _ = read_bundle(Path(record["artifact_dir"]), record["files"])
    return model, record


# --- training jobs (the Training page) -------------------------------------------------


@dataclass(frozen=True)
class TrainingJob:
    """The running training job, if any: its run, process and latest progress."""

    run_id: str
    pid: int
    started_utc: str
    progress: float
    message: str
    log_tail: tuple[str, ...]


def training_log_path(run_id: str) -> Path:
    return artifacts_root() / ".logs" / f"{run_id}.log"


def _process_alive(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)  # reaps our own finished child
        return finished == 0
    except ChildProcessError:  # not our child: ask the kernel whether it exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def read_training_log(run_id: str, lines: int = 12) -> tuple[float, str, tuple[str, ...]]:
    """Latest progress fraction and message of a run's log, and its last ``lines`` lines."""
    path = training_log_path(run_id)
    if not path.exists():
        return 0.0, "starting", ()
    text = path.read_text(errors="replace").splitlines()
    progress, message = 0.0, "starting"
    for line in text:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and "progress" in event:
            progress, message = float(event["progress"]), str(event["message"])
    return progress, message, tuple(text[-lines:])


def training_status(db_path: DbPath) -> TrainingJob | None:
    """The running job, or None. A lock whose process is gone is released and its run
    marked failed, so a killed job never stays "running"."""
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        lock = runs.lock()
        if lock is None:
            return None
        if not _process_alive(lock.pid):
            runs.fail(lock.run_id, "the training process ended without finishing (killed?)")
            runs.release_lock(lock.run_id)
            record = runs.get(lock.run_id)
            if record is None or record["status"] != "complete":  # died before registering
                discard_bundle(artifacts_root(), lock.run_id)
            return None
    progress, message, tail = read_training_log(lock.run_id)
    return TrainingJob(lock.run_id, lock.pid, lock.started_utc, progress, message, tail)


def launch_training(db_path: DbPath, tickers: Sequence[str], options: Sequence[str]) -> str:
    """Start models/train.py for ``tickers`` in its own process; return the run id.

    The lock is taken here first (so a second click cannot start a second job) and handed
    to the process, which trains from the stored prices. ``options`` are extra command-line
    arguments (an argument list, never a shell string).
    """
    tickers = normalize_tickers(tickers)
    run_id = new_run_id()
    path = str(Path(db_path or default_db_path()).resolve())
    with closing(open_db(path)) as db:
        ModelRunRepository(db).acquire_lock(run_id, os.getpid())
    log = training_log_path(run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        str(REPO_ROOT / "models" / "train.py"),
        "--source",
        "store",
        "--db",
        path,
        "--run-id",
        run_id,
        "--json-progress",
        "--tickers",
        ",".join(tickers),
        *options,
    ]
    env = {**os.environ, ARTIFACTS_ENV_VAR: str(artifacts_root())}
    try:
        with open(log, "wb") as out:
            child = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
                env=env,
                start_new_session=True,
            )
    except OSError:
        with closing(open_db(path)) as db:
            ModelRunRepository(db).release_lock(run_id)
        raise
    with closing(open_db(path)) as db:
        ModelRunRepository(db).acquire_lock(run_id, child.pid)
    return run_id


def cancel_training(db_path: DbPath) -> bool:
    """Ask the running job to stop (SIGTERM to its process group); True if one was running."""
    job = training_status(db_path)
    if job is None:
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(job.pid, signal.SIGTERM)
    return True


def load_oos_predictions(db_path: DbPath, run_id: str | None = None) -> tuple[pd.DataFrame, dict]:
    """A run's walk-forward out-of-sample predictions (the active run by default)."""
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        record = runs.get(run_id) if run_id else runs.active()
    if record is None or record["status"] != "complete":
        raise StoreError("no complete model run to show: train one or make one active")
    return read_predictions(Path(record["artifact_dir"]), record["files"]), record


def import_bundle(db_path: DbPath, folder: Path) -> dict:
    """Register a bundle trained elsewhere (e.g. Colab) after checking its files against its
    manifest; it is copied under the artifacts root and registered as 'imported'."""
    hashes = manifest_hashes(folder)
    manifest = read_bundle(Path(folder), hashes)[1]
    run_id = str(manifest.get("run_id") or new_run_id())
    if not RUN_ID_PATTERN.fullmatch(run_id):  # it names a folder: no paths, no surprises
        raise ArtifactError(f"the manifest's run id {run_id[:40]!r} is not a valid run id")
    with closing(open_db(db_path)) as db:
        if ModelRunRepository(db).get(run_id) is not None:
            raise ArtifactError(f"run {run_id} is already registered in this store")
    target = artifacts_root() / run_id
    if target.exists():
        raise ArtifactError(f"run {run_id} is already in {target.parent}")
    temp = target.with_name(f".tmp-import-{run_id}")
    shutil.copytree(folder, temp)
    os.rename(temp, target)
    try:
        with closing(open_db(db_path)) as db, write_transaction(db):
            runs = ModelRunRepository(db)
            runs.start(run_id, manifest.get("config", {}), origin="imported")
            runs.complete(
                run_id,
                metrics=manifest.get("metrics", {}),
                files=hashes,
                artifact_dir=str(target),
                feature_version=str(manifest.get("feature_version", "")),
                data_hash=str(manifest.get("data_hash", "")),
                code_version=str(manifest.get("code_version", "")),
            )
    except BaseException:  # not registered: leave no unregistered folder behind
        shutil.rmtree(target, ignore_errors=True)
        raise
    return load_run(db_path, run_id)


MAX_BUNDLE_BYTES = 200 * 2**20


def import_bundle_archive(db_path: DbPath, archive: bytes) -> dict:
    """Import a zipped bundle (the files of one run folder, at the top level or inside one
    folder). Only the bundle's own file names are accepted and nothing is written outside a
    temporary folder before the hash check passes."""
    try:
        zipped = zipfile.ZipFile(io.BytesIO(archive))
    except zipfile.BadZipFile as exc:
        raise ArtifactError(f"the upload is not a zip archive: {exc}") from exc
    members = [m for m in zipped.infolist() if not m.is_dir()]
    names = {PurePosixPath(m.filename).name for m in members}
    folders = {PurePosixPath(m.filename).parent for m in members}
    if names != set(BUNDLE_FILES) or len(members) != len(BUNDLE_FILES) or len(folders) != 1:
        raise ArtifactError(
            f"a bundle archive holds exactly {', '.join(BUNDLE_FILES)} in one folder; "
            f"this one holds {', '.join(sorted(m.filename for m in members)[:8])}"
        )
    if sum(m.file_size for m in members) > MAX_BUNDLE_BYTES:
        raise ArtifactError(f"the bundle is larger than {MAX_BUNDLE_BYTES // 2**20} MB")
    with tempfile.TemporaryDirectory() as tmp:
        for member in members:
            target = Path(tmp) / PurePosixPath(member.filename).name
            target.write_bytes(zipped.read(member))
        return import_bundle(db_path, Path(tmp))


def forecast(
    db_path: DbPath,
    tickers: Sequence[str],
    as_of: pd.Timestamp,
    *,
    run_id: str | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Calibrated forecasts with reasons for ``tickers`` from their last session <= as_of.

    Indexed by ticker; columns ``date`` (the session forecast from), FORECAST_COLUMNS and
    ``run_id``. Tickers with no stored session on or before ``as_of`` are left out.
    """
    model, record = load_model(db_path, run_id)
    trained = (record.get("params") or {}).get("as_of")
    if trained is not None and pd.Timestamp(trained) > pd.Timestamp(as_of):
        raise ValueError(
            f"run {record['run_id']} was trained as of {pd.Timestamp(trained):%Y-%m-%d}, after "
            f"{pd.Timestamp(as_of):%Y-%m-%d}: it has seen outcomes a forecast on that date could "
            "not know. Pick a run trained on or before it, or a later as-of date."
        )
    features = load_features(db_path, list(tickers))
    dates = features.index.get_level_values("date")
    past = features[dates <= pd.Timestamp(as_of)]
    if past.empty:
        return pd.DataFrame(columns=["date", *FORECAST_COLUMNS, "run_id"])
    rows = past.groupby(level="ticker").tail(1)
    p_up = model.predict_proba(rows)
    reasons = compute_reasons(model.contributions(rows), rows)
    regimes = (
        rows[REGIME_COLUMN].to_numpy() if REGIME_COLUMN in rows else np.full(len(rows), np.nan)
    )
    frame = compute_forecast_frame(p_up, reasons, regimes, model.outcome_returns_, thresholds)
    frame.insert(0, "date", rows.index.get_level_values("date"))
    frame.index = rows.index.get_level_values("ticker")
    return frame.assign(run_id=record["run_id"])
