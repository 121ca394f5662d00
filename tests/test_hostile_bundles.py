"""Hostile bundles: corrupted artifacts, crafted uploads and old-format pickles are refused
with a clear message, run nothing, and leave the store and the artifacts byte-identical;
an archive that lies about its sizes (a zip bomb), is damaged, encrypted or compressed in a
way zipfile cannot read is an ArtifactError too, never a traceback."""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import shutil
import tempfile
import tracemalloc
import zipfile
import zlib
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from tests.builders import ArmedPickle, unchanged
from tests.crafted_bundles import deflated, inflating_to, raw_zip, rehashed, zipped

pytest_plugins = ["tests.trained_bundle"]


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
                workflows.build_snapshot(db, ["KO"], pd.Timestamp("2020-06-30")),
                run_id=bundle.name,
            )


def test_a_missing_artifact_is_named(trained) -> None:
    db, bundle = trained
    (bundle / "model.json").unlink()
    with unchanged(db), pytest.raises(workflows.ArtifactError, match="model.json is missing"):
        workflows.load_model(db, bundle.name)


def _renamed(bundle: Path, run_id: str) -> bytes:
    """The bundle's manifest with another run id (its file hashes still match)."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    return json.dumps({**manifest, "run_id": run_id}).encode()


def _crafted_model(bundle: Path) -> bytes:
    body = json.loads((bundle / "model.json").read_text())
    body["selector"]["columns"] = ["__import__('os').system('echo pwned')"]
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda b: b"PK\x03\x04 this is no zip", "not a zip archive"),
        (lambda b: zipped(b, **{"../evil.py": b"print(1)"}), "holds exactly"),
        (lambda b: zipped(b, **{"booster.ubj": b"\x00" * 64}), "booster.ubj"),
        (lambda b: zipped(b, **{"manifest.json": b"[]"}), "not a JSON object"),
        (lambda b: zipped(b, **{"manifest.json": _renamed(b, "../../evil")}), "valid run id"),
        (
            lambda b: rehashed(b, **{"model.json": _crafted_model(b)}),
            "model.json in .* does not describe a model",
        ),
        (
            lambda b: rehashed(b, **{"model.json": b"\x80\x04K\x01."}),
            "model.json in .* does not describe a model",
        ),
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


# --- archives that lie, are damaged, or that zipfile cannot read -------------------------


def _raw_bundle(bundle: Path, name: str, **headers) -> bytes:
    """The bundle as a zip written byte by byte, ``name``'s entry with other ``headers``
    (each a function of the honest entry)."""
    entries = [deflated(f"run/{p.name}", p.read_bytes()) for p in sorted(bundle.iterdir())]
    return raw_zip(
        [
            replace(e, **{k: f(e) for k, f in headers.items()}) if e.name == f"run/{name}" else e
            for e in entries
        ]
    )


ARCHIVES = {
    "manifest 100k deep": (
        lambda b, _: zipped(b, **{"manifest.json": b"[" * 100_000 + b"]" * 100_000}),
        "cannot read manifest.json in the upload: its JSON nests deeper than this version reads",
    ),
    "model.json 100k deep": (
        lambda b, _: rehashed(b, **{"model.json": b'{"a":' * 100_000 + b"1" + b"}" * 100_000}),
        "model.json in the upload does not describe a model: its JSON nests deeper",
    ),
    "bad CRC": (
        lambda b, _: _raw_bundle(b, "oos_predictions.arrow", crc=lambda e: e.crc ^ 1),
        "cannot read oos_predictions.arrow in the upload: Bad CRC-32",
    ),
    "deflate64": (
        lambda b, _: _raw_bundle(b, "feature_baseline.arrow", method=lambda e: 9),
        "feature_baseline.arrow in the upload is compressed with deflate64, which this version",
    ),
    "encrypted": (
        lambda b, _: _raw_bundle(b, "model.json", flags=lambda e: 1),
        "model.json in the upload is encrypted",
    ),
    "shorter than declared": (
        lambda b, _: _raw_bundle(b, "model.json", file_size=lambda e: e.file_size + 10),
        r"model.json in the upload holds \d+ bytes, not the \d+ its zip entry declares",
    ),
    "longer than declared": (
        lambda b, _: raw_zip(
            [
                deflated(f"run/{p.name}", p.read_bytes())
                if p.name != "model.json"
                else inflating_to("run/model.json", p.read_bytes(), extra_mb=3)
                for p in sorted(b.iterdir())
            ]
        ),
        r"model.json in the upload inflates beyond the \d+ bytes its zip entry declares",
    ),
    "pickle as booster.ubj": (
        lambda b, marker: rehashed(b, **{"booster.ubj": pickle.dumps(ArmedPickle(marker))}),
        r"booster.ubj in the upload is not an XGBoost UBJ model: byte 0: the document does not",
    ),
}


@pytest.mark.parametrize("variant", ARCHIVES)
def test_an_unreadable_archive_is_an_artifact_error(trained, tmp_path, variant) -> None:
    db, bundle = trained
    make, message = ARCHIVES[variant]
    marker = tmp_path / "pwned"
    with unchanged(db), pytest.raises(workflows.ArtifactError, match=message) as refused:
        workflows.import_bundle_archive(db, make(bundle, marker))
    assert tempfile.gettempdir() not in str(refused.value)
    assert not marker.exists()


def test_a_deep_manifest_in_a_folder_is_an_artifact_error(trained, tmp_path) -> None:
    db, bundle = trained
    folder = tmp_path / "deep"
    shutil.copytree(bundle, folder)
    (folder / "manifest.json").write_bytes(b'{"a":' * 100_000 + b"1" + b"}" * 100_000)
    with unchanged(db), pytest.raises(workflows.ArtifactError, match="JSON nests deeper"):
        workflows.import_bundle(db, folder)


def test_a_zip_bomb_is_refused_without_inflating_it(trained) -> None:
    """booster.ubj declares its real size and CRC, but its deflate stream goes on to 300 MB
    of zeros: zipfile.read() inflated all of it (and imported the bundle); now at most a
    chunk past the declared size is inflated."""
    db, bundle = trained
    booster = (bundle / "booster.ubj").read_bytes()
    bomb = inflating_to("run/booster.ubj", booster, extra_mb=300)
    inflater, inflated, payload = zlib.decompressobj(-15), 0, bomb.payload
    while payload and not inflater.eof:  # the payload is live: it does inflate that far
        inflated += len(inflater.decompress(payload, 64 * 2**20))
        payload = inflater.unconsumed_tail
    assert inflated == len(booster) + 300 * 2**20 and len(bomb.payload) < 2**20
    others = [deflated(f"run/{p.name}", p.read_bytes()) for p in sorted(bundle.iterdir())]
    archive = raw_zip([e if e.name != bomb.name else bomb for e in others])
    with unchanged(db):
        tracemalloc.start()
        try:
            with pytest.raises(workflows.ArtifactError, match="booster.ubj in the upload inflates"):
                workflows.import_bundle_archive(db, archive)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < 16 * 2**20, f"importing the bomb allocated {peak / 2**20:.0f} MB"
