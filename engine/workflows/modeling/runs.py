"""Model runs: training in this process, the registry, loading a registered model."""

from __future__ import annotations

import datetime as dt
import os
import re
import secrets
import subprocess
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TypeVar

import pandas as pd

from engine.alerts import AlertSettings
from engine.data.calendar import sessions_between
from engine.data.schema import Progress, scaled_progress
from engine.features.cache import CacheSpec
from engine.modeling.artifacts import (
    MANIFEST,
    ArtifactError,
    discard_bundle,
    read_bundle,
    read_manifest,
    read_predictions,
    read_run_record,
    write_bundle,
    write_run_record,
)
from engine.modeling.labels import MAX_VERTICAL
from engine.modeling.learners import Learner
from engine.modeling.training import TrainConfig, data_hash, summarize_scores, train
from engine.modeling.tuning import TuningConfig
from engine.settings import load_settings
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.convert import ensure_current_format
from engine.workflows.modeling.tracking import track_training_run
from engine.workflows.modeling.tuning import tune_config
from engine.workflows.platform.alerts import training_failed_alert
from store.db import StoreError, open_db
from store.models import ModelRun, ModelRunRepository

REPO_ROOT = Path(__file__).resolve().parents[3]


def artifacts_root() -> Path:
    """Where bundles live (the ``artifacts_root`` setting: $WORKBENCH_ARTIFACTS, or
    models/artifacts under the repository)."""
    return load_settings().artifacts_root


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
    alerts: AlertSettings | None = None,
    tuning: TuningConfig | None = None,
    activate_if_none: bool = False,
) -> ModelRun:
    """Train, score out of sample, write the bundle and register the run; return its record.

    With ``tuning`` an Optuna study first chooses the learner's settings on the run's
    rows (``tune_config``: every trial counted for the Deflated Sharpe); the run is then
    trained with the best ones and its manifest and metrics record the study. With
    ``activate_if_none`` the run is made active when it registers, unless another run is
    active by then (still inside the lock, so no page sees it complete and not active).

    Holds the store's training lock for the whole run (TrainingBusyError if another job
    has it). Any failure marks the run failed, leaves no bundle, and is raised; an error
    (not a cancel) also raises an alert through ``alerts``.
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
        snapshot = build_snapshot(db_path, config.tickers, config.as_of)
        data = snapshot.training_rows(config)
        study = None
        if tuning is not None:
            config, study = tune_config(
                db_path,
                data,
                snapshot.prices,
                config,
                tuning=tuning,
                run_id=run_id,
                progress=scaled_progress(progress, 0.02, 0.6),
            )
        result = train(data, config, scaled_progress(progress, 0.6, 1.0) if study else progress)
        used = snapshot.prices[snapshot.prices["date"] <= result.as_of]
        metrics = summarize_scores(result.scores)
        if study is not None:
            metrics["tuning"] = study.summary()
        manifest = {
            "config": config.as_dict(),
            "metrics": metrics,
            "data_hash": data_hash(used),
            "code_version": code_version(),
            "feature_version": CacheSpec().version,
            "trained_through": f"{result.trained_through:%Y-%m-%d}",
            "last_labelled_date": f"{result.as_of:%Y-%m-%d}",
            "rows": result.rows,
        }
        hashes = write_bundle(
            result.model,
            root,
            run_id,
            manifest,
            predictions=result.walk_forward.predictions,
            baseline=result.baseline,
            signing_key=load_settings().signing.key,
        )
        with closing(open_db(db_path)) as db:
            runs = ModelRunRepository(db)
            runs.complete(
                run_id,
                metrics=metrics,
                files=hashes,
                artifact_dir=str(root / run_id),
                feature_version=manifest["feature_version"],
                data_hash=manifest["data_hash"],
                code_version=manifest["code_version"],
                trained_through=manifest["trained_through"],
                params=config.as_dict(),
            )
            if activate_if_none and runs.active() is None:
                runs.activate(run_id)
        if progress:
            progress(1.0, f"Run {run_id} registered")
    except BaseException as exc:
        message = f"{type(exc).__name__}: {exc}"
        with closing(open_db(db_path)) as db:
            runs = ModelRunRepository(db)
            runs.fail(run_id, message)
            record = runs.get(run_id)
        if record is None or record.status != "complete":
            # a cancel between the bundle's rename into place and its registration: an
            # unregistered bundle is left nowhere (the reaper does this for a killed job)
            discard_bundle(root, run_id)
        if isinstance(exc, Exception):  # ALERT: a training run failed (a cancel is not)
            training_failed_alert(db_path, run_id, message, alerts)
        raise
    finally:
        with closing(open_db(db_path)) as db:
            ModelRunRepository(db).release_lock(run_id)
    track_training_run(run_id, root / run_id, study)  # to MLflow when configured; never raises
    return load_run(db_path, run_id)


def load_run(db_path: DbPath, run_id: str) -> ModelRun:
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


def _get_complete(db_path: DbPath, run_id: str | None) -> ModelRun:
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        record = runs.get(run_id) if run_id else runs.active()
    if record is None:
        raise StoreError(
            f"no model run {run_id!r}"
            if run_id
            else "no active model: train one or make one active"
        )
    if record.status != "complete":
        raise StoreError(f"model run {record.run_id} is {record.status}, not complete")
    return record


def run_kind(record: ModelRun) -> str:
    """The run's model kind (``MODEL_KINDS``); runs recorded before the kinds existed
    are market timing."""
    return (record.params.get("learner") or {}).get("kind", "market_timing")


def run_horizon(record: ModelRun) -> int:
    """The run's label horizon in sessions (5 for runs that did not record one)."""
    return int(((record.params or {}).get("label") or {}).get("horizon", 5))


def active_run(db_path: DbPath) -> ModelRun | None:
    """The active run, or None when no run is active."""
    with closing(open_db(db_path)) as db:
        return ModelRunRepository(db).active()


def load_model(db_path: DbPath, run_id: str | None = None) -> tuple[Learner, ModelRun]:
    """A registered model (the active one by default), after its files pass the hash check
    (memoized and shared: ``_verified_model``).

    For forecasting use ``load_model_as_of``, which also applies the trained-through guard.
    """
    record = ensure_current_format(db_path, _get_complete(db_path, run_id))  # format 1, once
    return _verified_model(record), record


MODELS_KEPT = 4
_MODELS: OrderedDict[tuple, tuple[tuple[int, ...], Learner]] = OrderedDict()
_MODELS_LOCK = threading.Lock()  # the pages' script threads share the memo


def _verified_model(record: ModelRun) -> Learner:
    """The run's model from its bundle, read only after every file passes the hash check.

    Memoized (the last ``MODELS_KEPT``) by the run, its folder and its recorded hashes, and
    valid while the stamps of its files (``_bundle_stamp``) are unchanged: any write to,
    replacement or removal of a bundle file makes the next call a full read and check. The
    model is shared: callers predict with it, never change it.
    """
    folder = Path(record.artifact_dir)
    key = (record.run_id, str(folder.resolve()), tuple(sorted((record.files or {}).items())))
    names = (*sorted(record.files or {}), MANIFEST)  # the hashed files and the manifest
    stamp = _bundle_stamp(folder, names)
    with _MODELS_LOCK:
        kept = _MODELS.get(key)
        if kept is not None and stamp is not None and kept[0] == stamp:
            _MODELS.move_to_end(key)
            return kept[1]
    model, _ = read_bundle(folder, record.files)
    # kept only when no file changed while it was read (the check saw what the stamp names)
    if stamp is not None and _bundle_stamp(folder, names) == stamp:
        with _MODELS_LOCK:
            _MODELS[key] = (stamp, model)
            while len(_MODELS) > MODELS_KEPT:
                _MODELS.popitem(last=False)
    return model


def _bundle_stamp(folder: Path, names: tuple[str, ...]) -> tuple[int, ...] | None:
    """Size, modification and status-change times (ns) and inode of the bundle's files;
    None when one is missing. A write, a rename over or a reset modification time changes
    it."""
    stamp: list[int] = []
    for name in names:
        try:
            info = (folder / name).stat()
        except OSError:
            return None
        stamp += [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino]
    return tuple(stamp)


class LookaheadError(ValueError):
    """A model was asked about a date before the newest outcome it learned from."""


def trained_through(record: ModelRun) -> pd.Timestamp:
    """The newest label end date the run learned from.

    Runs registered before it was recorded: their configured as-of date when they had one
    (no label of theirs ended after it); otherwise their manifest's last labelled date plus
    the label's longest span in sessions (no label can end later). A run that records
    neither is refused.
    """
    if record.trained_through:
        return pd.Timestamp(record.trained_through)
    config = record.params or {}
    if config.get("as_of"):
        return pd.Timestamp(config["as_of"])
    manifest = read_manifest(Path(record.artifact_dir)) if record.artifact_dir else {}
    last = manifest.get("trained_through")
    if not last:
        raise LookaheadError(
            f"run {record.run_id} records neither its trained-through date nor its last "
            "labelled date, so it cannot be checked against the as-of date: retrain it"
        )
    span = run_horizon(record)
    if (config.get("label") or {}).get("kind") == "triple_barrier":
        span = MAX_VERTICAL
    last = pd.Timestamp(last)
    after = sessions_between(last, last + pd.Timedelta(days=3 * span + 14))
    return pd.Timestamp(after[min(span, len(after) - 1)])


def describe_trained_through(record: ModelRun) -> str:
    """The run's trained-through date as the pages say it: ISO, "... (unverified: ...)"
    for an imported run whose bundle held no outcome dates to check it against, "not
    recorded" when the run has none. ``record`` may also be a row of ``load_runs``."""
    try:
        text = f"{trained_through(record):%Y-%m-%d}"
    except (LookaheadError, ArtifactError):
        return "not recorded"
    verified = record.trained_through_verified
    if verified is not None and not pd.isna(verified) and not verified:
        text += " (unverified: the bundle held no outcome dates to check it against)"
    return text


def check_trained_through(record: ModelRun, as_of: pd.Timestamp) -> None:
    """Raise LookaheadError when the run learned from an outcome dated after ``as_of``."""
    through = trained_through(record)
    if through > pd.Timestamp(as_of):
        raise LookaheadError(
            f"run {record.run_id} is trained through {through:%Y-%m-%d} (the newest outcome it "
            f"learned from), after the as-of date {pd.Timestamp(as_of):%Y-%m-%d}: it has seen "
            "outcomes a forecast on that date could not know. Pick a run trained through that "
            "date or earlier (train one with an end date on or before it), or a later as-of date."
        )


def run_for_as_of(db_path: DbPath, as_of: pd.Timestamp, run_id: str | None = None) -> ModelRun:
    """The complete run (the active one by default) if it may forecast at ``as_of``;
    LookaheadError when it is trained through a later date."""
    record = _get_complete(db_path, run_id)
    check_trained_through(record, as_of)
    return record


def load_model_as_of(
    db_path: DbPath, as_of: pd.Timestamp, run_id: str | None = None
) -> tuple[Learner, ModelRun]:
    """A registered model that may forecast at ``as_of``: refused (LookaheadError, before
    its files are read or a memoized model is used) when it is trained through a later
    date."""
    record = ensure_current_format(db_path, run_for_as_of(db_path, as_of, run_id))
    return _verified_model(record), record


def load_oos_predictions(
    db_path: DbPath, run_id: str | None = None
) -> tuple[pd.DataFrame, ModelRun]:
    """A run's walk-forward out-of-sample predictions (the active run by default)."""
    record = _shown_run(db_path, run_id)
    return read_predictions(Path(record.artifact_dir), record.files), record


Analysis = TypeVar("Analysis")


def _shown_run(db_path: DbPath, run_id: str | None) -> ModelRun:
    try:
        record = _get_complete(db_path, run_id)
    except StoreError as exc:
        message = "no complete model run to show: train one or make one active"
        raise StoreError(message) from exc
    return ensure_current_format(db_path, record)


def run_analysis(
    db_path: DbPath,
    run_id: str | None,
    name: str,
    cls: type[Analysis],
    compute: Callable[[pd.DataFrame, ModelRun], Analysis],
) -> Analysis:
    """A run's analysis record (the active run's by default), kept as ``name`` in its
    folder: read back typed when it is there, else ``compute(predictions, run)`` from its
    out-of-sample predictions and kept (when the run is trained, or on the first read of a
    run trained before records were kept). ArtifactError when the kept file is not one."""
    record = _shown_run(db_path, run_id)
    folder = Path(record.artifact_dir)
    kept = read_run_record(folder, name, cls)
    if kept is not None and kept.run_id == record.run_id:
        return kept
    analysis = compute(read_predictions(folder, record.files), record)
    write_run_record(folder, name, analysis)
    return analysis
