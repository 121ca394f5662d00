"""Loading a registered model: a warm load reuses the verified model, any change to a
bundle file is a full read and hash check again, and the trained-through guard runs first."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.modeling.artifacts import ArtifactError, bundle_files
from engine.workflows.modeling import runs
from tests.builders import SMALL_TRAIN


@pytest.fixture
def bundle_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The folders ``read_bundle`` is asked to read, in order."""
    folders: list[Path] = []
    read = runs.read_bundle

    def counted(folder, expected):
        folders.append(Path(folder))
        return read(folder, expected)

    monkeypatch.setattr(runs, "read_bundle", counted)
    return folders


def test_a_warm_load_does_not_read_the_bundle_again(trained_db, bundle_reads) -> None:
    db, record = trained_db
    model, loaded = workflows.load_model(db, record.run_id)
    again, _ = workflows.load_model(db, record.run_id)
    dated, dated_record = workflows.load_model_as_of(db, pd.Timestamp("2022-12-28"))
    assert again is model and dated is model
    assert loaded == dated_record == record
    assert bundle_reads == [Path(record.artifact_dir)]


@pytest.mark.parametrize("name", bundle_files("xgboost"))  # the template run's learner
def test_one_changed_byte_after_a_warm_load_is_refused(trained_db, bundle_reads, name) -> None:
    db, record = trained_db
    workflows.load_model(db, record.run_id)
    path = Path(record.artifact_dir) / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # same size, one bit of one byte
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match=f"{name} in .* was changed after training"):
        workflows.load_model(db, record.run_id)
    assert len(bundle_reads) == 2


def test_the_guard_runs_before_a_memoized_model_is_used(trained_db, bundle_reads) -> None:
    db, record = trained_db
    workflows.load_model(db, record.run_id)
    through = pd.Timestamp(record.trained_through)
    with pytest.raises(workflows.LookaheadError, match="trained through"):
        workflows.load_model_as_of(db, through - pd.Timedelta(days=1), record.run_id)
    assert workflows.load_model_as_of(db, through, record.run_id)[1] == record
    assert len(bundle_reads) == 1


def test_the_memo_keeps_the_latest_few_models(trained_db, bundle_reads, monkeypatch) -> None:
    db, record = trained_db
    monkeypatch.setattr(runs, "MODELS_KEPT", 2)
    first = Path(record.artifact_dir)
    folders = [first]
    for copy in ("second", "third"):
        folders.append(first.with_name(copy))
        shutil.copytree(first, folders[-1])
    for folder in (*folders, folders[-1], first):  # the first was the oldest of three
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE model_runs SET artifact_dir = ?", (str(folder),))
        conn.close()
        workflows.load_model(db, record.run_id)
    assert bundle_reads == [*folders, first]
    assert len(runs._MODELS) <= 2


def test_a_cancel_between_the_bundles_rename_and_its_registration_leaves_no_bundle(
    seeded_db, tmp_path, monkeypatch
) -> None:
    """The Training page's cancel is a SIGTERM turned SystemExit at any line: one that lands
    after the bundle is in place but before the run is registered leaves no bundle behind
    (the load test under load found such a folder)."""
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "artifacts"))

    def cancelled(*args, **kwargs):
        raise SystemExit("cancelled")

    monkeypatch.setattr(runs.ModelRunRepository, "complete", cancelled)
    with pytest.raises(SystemExit):
        workflows.train_model(seeded_db, SMALL_TRAIN, run_id="cancelled-late")
    assert workflows.load_run(seeded_db, "cancelled-late").status == "failed"
    assert not list((tmp_path / "artifacts").glob("*cancelled-late*"))
