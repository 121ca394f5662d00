"""Training jobs (the Training page): one process at a time, its progress, cancel."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from engine.alerts import AlertSettings
from engine.data.schema import normalize_tickers
from engine.modeling.artifacts import (
    discard_bundle,
)
from engine.modeling.training import TrainConfig
from engine.modeling.tuning import TuningConfig
from engine.settings import ARTIFACTS_ENV_VAR
from engine.workflows.data.prices import DbPath, store_path
from engine.workflows.modeling.runs import REPO_ROOT, artifacts_root, load_run, new_run_id
from engine.workflows.modeling.tuning import fail_abandoned_trials
from engine.workflows.platform.alerts import training_failed_alert
from engine.workflows.platform.background import process_alive, start_process, stop_process_group
from store.db import open_db
from store.models import ModelRun, ModelRunRepository


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


def training_status(db_path: DbPath, alerts: AlertSettings | None = None) -> TrainingJob | None:
    """The running job, or None. A lock whose process is gone is released and its run
    marked failed (an alert through ``alerts``), and the trials its study left RUNNING are
    marked failed, so a killed job never stays "running" (nor does any trial of it)."""
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        lock = runs.lock()
        if lock is None:
            return None
        alive = process_alive(lock.pid)
        if not alive:
            runs.fail(lock.run_id, "the training process ended without finishing (killed?)")
            runs.release_lock(lock.run_id)
            record = runs.get(lock.run_id)
            if record is None or record.status != "complete":  # died before registering
                discard_bundle(artifacts_root(), lock.run_id)
    if not alive:
        fail_abandoned_trials(db_path, lock.run_id)
        if record is not None and record.status == "failed":  # ALERT: a training run failed
            training_failed_alert(db_path, lock.run_id, record.message, alerts)
        return None
    progress, message, tail = read_training_log(lock.run_id)
    return TrainingJob(lock.run_id, lock.pid, lock.started_utc, progress, message, tail)


def training_config_path(run_id: str) -> Path:
    return artifacts_root() / ".jobs" / f"{run_id}.json"


def launch_training(
    db_path: DbPath,
    config: TrainConfig,
    alerts: AlertSettings | None = None,
    tuning: TuningConfig | None = None,
    *,
    run_id: str | None = None,
    activate_if_none: bool = False,
) -> str:
    """Start models/train.py on ``config`` in its own process; return the run id
    (``run_id``, default a new one).

    The lock is taken here first (so a second click cannot start a second job) and handed
    to the process, which trains from the stored prices. The job is handed the serialized
    configuration (a JSON file, written whole before the process starts), never a list of
    command-line strings. ``alerts`` reach the process as its ``WORKBENCH_*`` alert
    variables (its environment, never a file), so a failure there alerts too. With
    ``tuning`` the job first runs the study (``--trials``), one progress line per trial.
    With ``activate_if_none`` the run becomes the active one when it registers, unless
    another is active by then (``train_model``). The process outlives its caller (its own
    session): a command that starts it may exit at once.
    """
    config = dataclasses.replace(config, tickers=tuple(normalize_tickers(config.tickers)))
    run_id = run_id or new_run_id()
    path = str(Path(db_path or store_path()).resolve())
    with closing(open_db(path)) as db:
        ModelRunRepository(db).acquire_lock(run_id, os.getpid())
    log = training_log_path(run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    request = training_config_path(run_id)
    request.parent.mkdir(parents=True, exist_ok=True)
    temp = request.with_suffix(".tmp")
    temp.write_text(config.to_json())
    os.replace(temp, request)
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
        "--config",
        str(request),
    ]
    if tuning is not None:
        command += ["--trials", str(tuning.n_trials), "--seed", str(tuning.seed)]
        command += ["--max-rounds", str(tuning.max_rounds)]
        command += ["--scheduler", tuning.scheduler_address] if tuning.scheduler_address else []
    command += ["--activate-if-none"] if activate_if_none else []
    env = {**os.environ, ARTIFACTS_ENV_VAR: str(artifacts_root())}
    env |= alerts.to_env() if alerts is not None else {}
    try:
        pid = start_process(command, log, cwd=REPO_ROOT, env=env)
    except OSError:
        with closing(open_db(path)) as db:
            ModelRunRepository(db).release_lock(run_id)
        request.unlink(missing_ok=True)
        raise
    with closing(open_db(path)) as db:
        ModelRunRepository(db).acquire_lock(run_id, pid)
    return run_id


def wait_for_training(
    db_path: DbPath, run_id: str, *, timeout_s: float, poll_s: float = 0.5
) -> ModelRun:
    """Block until the job ``run_id`` has ended; return its run's record (complete or
    failed). TimeoutError when it still runs after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while (job := training_status(db_path)) is not None and job.run_id == run_id:
        if time.monotonic() > deadline:
            raise TimeoutError(f"training run {run_id} still running after {timeout_s:g} s")
        time.sleep(poll_s)
    return load_run(db_path, run_id)


def cancel_training(db_path: DbPath) -> bool:
    """Ask the running job to stop (SIGTERM to its process group); True if one was running.

    The job stops at once, or (while it writes its study's storage) as soon as that write
    is done; it marks its run and its running trial failed, then releases the lock. Once
    ``training_status`` reports no job, no trial of the study is RUNNING and the run is
    failed, with no bundle, unless the job had registered it before the cancel came; a
    killed job's leftovers are failed when it is reaped.
    """
    job = training_status(db_path)
    if job is None:
        return False
    stop_process_group(job.pid)
    return True
