"""Hostile bundles: corrupted artifacts, crafted uploads and old-format pickles are refused
with a clear message, run nothing, and leave the store and the artifacts byte-identical."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from tests.builders import SMALL_TRAIN, ArmedPickle, unchanged


@pytest.fixture(scope="module")
def _trained_template(_seeded_template: Path, tmp_path_factory) -> tuple[Path, Path]:
    """A store with one small trained run, and its artifacts folder (copied per test)."""
    folder = tmp_path_factory.mktemp("hostile_trained")
    db = folder / "store.db"
    db.write_bytes(_seeded_template.read_bytes())
    patch = pytest.MonkeyPatch()
    patch.setenv("WORKBENCH_ARTIFACTS", str(folder / "artifacts"))
    record = workflows.train_model(db, SMALL_TRAIN)
    patch.undo()
    return db, Path(record.artifact_dir)


@pytest.fixture
def trained(_trained_template, tmp_path, monkeypatch) -> tuple[Path, Path]:
    db_template, bundle = _trained_template
    root = tmp_path / "artifacts"
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(root))
    copy = root / bundle.name
    shutil.copytree(bundle, copy)
    db = tmp_path / "store.db"
    db.write_bytes(db_template.read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE model_runs SET artifact_dir = ?", (str(copy),))
    conn.close()
    workflows.load_runs(db)
    return db, copy


@pytest.mark.parametrize(
    ("file", "damage"),
    [
        ("booster.ubj", lambda b: b[:100]),
        ("booster.ubj", lambda b: b[:50] + bytes([b[50] ^ 1]) + b[51:]),
        ("model.json", lambda b: b"\x80\x04cos\nsystem\n(S'echo pwned'\ntR."),
        ("model.json", lambda b: b""),
        ("model.json", lambda b: b.replace(b"platt", b"exec!")),
        ("manifest.json", lambda b: b"{not json"),
        ("oos_predictions.arrow", lambda b: b[::-1]),
    ],
    ids=["truncated", "one bit", "pickle bomb", "emptied", "edited", "manifest", "predictions"],
)
def test_a_corrupted_artifact_is_refused_before_it_is_read(trained, file, damage) -> None:
    db, bundle = trained
    target = bundle / file
    target.write_bytes(damage(target.read_bytes()))
    with unchanged(db):
        with pytest.raises(workflows.ArtifactError, match=file):
            if file == "oos_predictions.arrow":
                workflows.load_oos_predictions(db, bundle.name)
            else:
                workflows.load_model(db, bundle.name)
        with pytest.raises(workflows.ArtifactError, match=file):
            workflows.forecast(
                db,
                workflows.load_snapshot(db, ["KO"], pd.Timestamp("2020-06-30")),
                run_id=bundle.name,
            )


def test_a_missing_artifact_is_named(trained) -> None:
    db, bundle = trained
    (bundle / "model.json").unlink()
    with unchanged(db), pytest.raises(workflows.ArtifactError, match="model.json is missing"):
        workflows.load_model(db, bundle.name)


def _zipped(bundle: Path, **replace: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for file in sorted(bundle.iterdir()):
            archive.writestr(f"run/{file.name}", replace.get(file.name, file.read_bytes()))
        for name, data in replace.items():
            if not (bundle / name).exists():
                archive.writestr(name, data)
    return out.getvalue()


def _renamed(bundle: Path, run_id: str) -> bytes:
    """The bundle's manifest with another run id (its file hashes still match)."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    return json.dumps({**manifest, "run_id": run_id}).encode()


def _rehashed(bundle: Path, model_json: bytes) -> bytes:
    """The bundle zipped with another model.json whose hash its manifest lists."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"]["model.json"] = hashlib.sha256(model_json).hexdigest()
    return _zipped(
        bundle, **{"model.json": model_json, "manifest.json": json.dumps(manifest).encode()}
    )


def _crafted_model(bundle: Path) -> bytes:
    body = json.loads((bundle / "model.json").read_text())
    body["selector"]["columns"] = ["__import__('os').system('echo pwned')"]
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda b: b"PK\x03\x04 this is no zip", "not a zip archive"),
        (lambda b: _zipped(b, **{"../evil.py": b"print(1)"}), "holds exactly"),
        (lambda b: _zipped(b, **{"booster.ubj": b"\x00" * 64}), "booster.ubj"),
        (lambda b: _zipped(b, **{"manifest.json": b"[]"}), "not a JSON object"),
        (lambda b: _zipped(b, **{"manifest.json": _renamed(b, "../../evil")}), "valid run id"),
        (lambda b: _rehashed(b, _crafted_model(b)), "model.json in .* does not describe a model"),
        (lambda b: _rehashed(b, b"\x80\x04K\x01."), "model.json in .* does not describe a model"),
    ],
    ids=[
        "not a zip",
        "path traversal",
        "hash mismatch",
        "bad manifest",
        "run id as a path",
        "crafted model.json",
        "pickle as model.json",
    ],
)
def test_a_corrupted_bundle_upload_is_not_imported(trained, make, message) -> None:
    db, bundle = trained
    with unchanged(db), pytest.raises(workflows.ArtifactError, match=message):
        workflows.import_bundle_archive(db, make(bundle))


def _old_layout(bundle: Path, marker: Path) -> dict[str, bytes]:
    """A bundle in the old layout (format 1: pickles, no bundle_format) whose manifest lists
    the right SHA-256 of every file, with a calibrator.joblib that would create ``marker``."""
    files = {
        name: (bundle / name).read_bytes()
        for name in ("booster.ubj", "oos_predictions.arrow", "feature_baseline.arrow")
    }
    files["calibrator.joblib"] = pickle.dumps(ArmedPickle(marker))
    files["selector.joblib"] = pickle.dumps(["rsi_14"])
    files["baseline.joblib"] = pickle.dumps(None)
    manifest = json.loads((bundle / "manifest.json").read_text())
    del manifest["bundle_format"]
    manifest["run_id"] = "old-layout"
    manifest["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    return {**files, "manifest.json": json.dumps(manifest).encode()}


def test_a_crafted_pickle_in_an_old_bundle_is_refused_and_runs_nothing(trained, tmp_path) -> None:
    db, bundle = trained
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(ArmedPickle(proof)))  # the payload is live: loading it would act
    assert proof.exists()
    marker = tmp_path / "pwned"
    files = _old_layout(bundle, marker)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, data in files.items():
            zipped.writestr(f"old-layout/{name}", data)
    folder = tmp_path / "old-layout"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    refused = r"old bundle format .* never opens.* Retrain it with models/train.py.* re-export"
    with unchanged(db):
        with pytest.raises(workflows.ArtifactError, match=refused):
            workflows.import_bundle_archive(db, archive.getvalue())
        with pytest.raises(workflows.ArtifactError, match=refused):
            workflows.import_bundle(db, folder)
    assert not marker.exists()
    assert workflows.load_runs(db)["run_id"].tolist() == [bundle.name]
