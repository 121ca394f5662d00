"""Training as a background job: cancel, a killed process, one job at a time, zip import."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.modeling.artifacts import ArtifactError
from engine.modeling.training import TrainConfig
from engine.settings import ARTIFACTS_ENV_VAR
from engine.workflows.modeling.runs import REPO_ROOT
from store.db import open_db
from store.models import ModelRunRepository, TrainingBusyError

# jobs are processes of their own: minutes each when two test workers share two cores
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

JOB = TrainConfig(
    tickers=("AAPL", "KO", "XOM", "JPM"),
    start=pd.Timestamp("2010-01-01"),
    as_of=pd.Timestamp("2018-06-29"),
    train_months=12,
    test_months=3,
)


def wait_for(condition, seconds: float = 240.0) -> None:
    """Poll ``condition``; the deadline is generous (a loaded 2-core machine running two
    test workers), and only a hang ever reaches it."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


def running(db) -> bool:
    job = workflows.training_status(db)
    return job is not None and job.progress > 0.05


def test_the_job_runs_the_repository_training_script(monkeypatch) -> None:
    """The job starts models/train.py of this checkout, and bundles default to models/."""
    root = Path(__file__).resolve().parents[4]
    assert root == REPO_ROOT
    assert (REPO_ROOT / "models" / "train.py").is_file()
    monkeypatch.delenv(ARTIFACTS_ENV_VAR)
    assert workflows.artifacts_root() == root / "models" / "artifacts"


@pytest.mark.parametrize("stop", ["cancel", "kill"])
def test_a_stopped_job_is_marked_failed_and_leaves_no_bundle(seeded_db, stop) -> None:
    run_id = workflows.launch_training(seeded_db, JOB)
    with pytest.raises(TrainingBusyError, match=run_id):
        workflows.launch_training(seeded_db, JOB)
    wait_for(lambda: running(seeded_db))
    job = workflows.training_status(seeded_db)
    if stop == "cancel":
        assert workflows.cancel_training(seeded_db)
    else:
        os.killpg(job.pid, signal.SIGKILL)  # no chance to clean up
    wait_for(lambda: workflows.training_status(seeded_db) is None, 240)
    record = workflows.load_run(seeded_db, run_id)
    assert record.status == "failed"
    assert ("cancelled" if stop == "cancel" else "ended without finishing") in record.message
    root = workflows.artifacts_root()
    assert not (root / run_id).exists()
    assert not [p for p in root.glob(f".tmp-{run_id}*")]


def test_a_lock_left_by_a_dead_process_is_reaped(seeded_db) -> None:
    with open_db(seeded_db) as db:
        runs = ModelRunRepository(db)
        runs.start("ghost", {})
        runs.acquire_lock("ghost", 2**22 + 12345)  # no such process
    root = workflows.artifacts_root()
    # killed while writing its bundle, or after renaming it into place but before registering
    leftovers = [root / ".tmp-ghost-1a2b3c4d", root / "ghost"]
    for folder in leftovers:
        folder.mkdir(parents=True)
        (folder / "booster.ubj").write_bytes(b"half")
    assert workflows.training_status(seeded_db) is None
    assert workflows.load_run(seeded_db, "ghost").status == "failed"
    assert not any(folder.exists() for folder in leftovers)


def test_the_trial_a_dead_job_left_running_is_failed_when_it_is_reaped(seeded_db) -> None:
    import optuna  # noqa: PLC0415

    storage = workflows.study_storage(seeded_db)
    study = optuna.create_study(study_name="tune-ghost", storage=storage, direction="maximize")
    study.tell(study.ask(), 0.1)
    study.ask()  # the trial it was running when it was killed outright
    with open_db(seeded_db) as db:
        runs = ModelRunRepository(db)
        runs.start("ghost", {})
        runs.acquire_lock("ghost", 2**22 + 12345)  # no such process
    assert workflows.training_status(seeded_db) is None
    states = [t.state for t in optuna.load_study(study_name="tune-ghost", storage=storage).trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.FAIL]


def test_zip_import_accepts_a_bundle_and_refuses_anything_else(
    seeded_db, tmp_path, monkeypatch
) -> None:
    config = TrainConfig(
        JOB.tickers,
        pd.Timestamp("2014-01-01"),
        pd.Timestamp("2017-06-30"),
        train_months=12,
        test_months=6,
        n_boot=20,
    )
    other = tmp_path / "other.db"
    other.write_bytes(Path(seeded_db).read_bytes())
    record = workflows.train_model(seeded_db, config)
    folder = Path(record.artifact_dir)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in folder.iterdir():
            zipped.write(path, f"{record.run_id}/{path.name}")
    monkeypatch.setenv(workflows.ARTIFACTS_ENV_VAR, str(tmp_path / "other"))
    with pytest.raises(ArtifactError, match="already registered"):
        workflows.import_bundle_archive(seeded_db, archive.getvalue())
    imported = workflows.import_bundle_archive(other, archive.getvalue())
    assert imported.run.origin == "imported" and imported.run.status == "complete"
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as zipped:
        zipped.writestr("../../etc/passwd", "x")
    with pytest.raises(ArtifactError, match="holds exactly"):
        workflows.import_bundle_archive(other, evil.getvalue())
    with pytest.raises(ArtifactError, match="not a zip"):
        workflows.import_bundle_archive(other, b"plain text")


@pytest.mark.parametrize("stop", ["cancel", "kill"])
def test_a_cancel_during_tuning_stops_the_study_and_registers_nothing(seeded_db, stop) -> None:
    """Cancelled (SIGTERM: the job fails its running trial itself) or killed outright
    (SIGKILL: the trial is failed when the dead job is reaped), no trial stays RUNNING."""
    import optuna  # noqa: PLC0415

    tuning = workflows.TuningConfig(n_trials=50, max_rounds=20)
    # three years: the first trial (what the status waits for) is a dozen folds, not thirty
    job = dataclasses.replace(JOB, start=pd.Timestamp("2015-07-01"))
    run_id = workflows.launch_training(seeded_db, job, tuning=tuning)

    def tuning_started() -> bool:
        job = workflows.training_status(seeded_db)
        return job is not None and job.message.startswith("Tuning trial")

    wait_for(tuning_started)
    if stop == "cancel":
        assert workflows.cancel_training(seeded_db)
    else:
        os.killpg(workflows.training_status(seeded_db).pid, signal.SIGKILL)
    wait_for(lambda: workflows.training_status(seeded_db) is None, 240)
    record = workflows.load_run(seeded_db, run_id)
    expected = "cancelled" if stop == "cancel" else "ended without finishing"
    assert record.status == "failed" and expected in record.message
    assert not (workflows.artifacts_root() / run_id).exists()
    storage = workflows.study_storage(seeded_db)
    study = optuna.load_study(study_name=f"tune-{run_id}", storage=storage)
    states = {t.state for t in study.trials}
    assert optuna.trial.TrialState.RUNNING not in states and len(study.trials) < 50
