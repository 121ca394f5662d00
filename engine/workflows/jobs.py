"""Training jobs (the Training page): one process at a time, its progress, cancel."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import subprocess
import sys
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
from engine.settings import ARTIFACTS_ENV_VAR, load_settings
from engine.workflows.alerts import training_failed_alert
from engine.workflows.data import DbPath
from engine.workflows.runs import REPO_ROOT, artifacts_root, new_run_id
from engine.workflows.tuning import fail_abandoned_trials
from store.db import open_db
from store.models import ModelRunRepository


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


def training_status(db_path: DbPath, alerts: AlertSettings | None = None) -> TrainingJob | None:
    """The running job, or None. A lock whose process is gone is released and its run
    marked failed (an alert through ``alerts``), and the trials its study left RUNNING are
    marked failed, so a killed job never stays "running" (nor does any trial of it)."""
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        lock = runs.lock()
        if lock is None:
            return None
        alive = _process_alive(lock.pid)
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
) -> str:
    """Start models/train.py on ``config`` in its own process; return the run id.

    The lock is taken here first (so a second click cannot start a second job) and handed
    to the process, which trains from the stored prices. The job is handed the serialized
    configuration (a JSON file, written whole before the process starts), never a list of
    command-line strings. ``alerts`` reach the process as its ``WORKBENCH_*`` alert
    variables (its environment, never a file), so a failure there alerts too. With
    ``tuning`` the job first runs the study (``--trials``), one progress line per trial.
    """
    config = dataclasses.replace(config, tickers=tuple(normalize_tickers(config.tickers)))
    run_id = new_run_id()
    path = str(Path(db_path or load_settings().db_path).resolve())
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
    env = {**os.environ, ARTIFACTS_ENV_VAR: str(artifacts_root())}
    env |= alerts.to_env() if alerts is not None else {}
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
        request.unlink(missing_ok=True)
        raise
    with closing(open_db(path)) as db:
        ModelRunRepository(db).acquire_lock(run_id, child.pid)
    return run_id


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
    with contextlib.suppress(ProcessLookupError):
        os.killpg(job.pid, signal.SIGTERM)
    return True
