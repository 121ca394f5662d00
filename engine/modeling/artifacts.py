"""Model bundles on disk: written whole or not at all, read only after every hash matches.

A bundle is a folder ``<root>/<run_id>/``: the booster in XGBoost's native format
(``booster.ubj``), the selector, calibrator and logistic baseline with joblib, the
walk-forward's out-of-sample predictions (``oos_predictions.arrow``, for the Calibration
page), a sample of the final training window's features (``feature_baseline.arrow``, the
drift monitor's baseline), and ``manifest.json`` (parameters, data hash, code version,
metrics, SHA-256 of every file). It is written under a temporary name and renamed into
place. ``read_bundle`` hashes every file against the hashes it is given (the store's
record) before it unpickles anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
from pathlib import Path

import joblib
import pandas as pd
import xgboost as xgb
from pyarrow import feather

from engine.modeling.learner import LearnerParams, MetaLearner

BOOSTER, MANIFEST, PREDICTIONS = "booster.ubj", "manifest.json", "oos_predictions.arrow"
FEATURE_BASELINE = "feature_baseline.arrow"
PICKLES = ("selector.joblib", "calibrator.joblib", "baseline.joblib")
DATA_FILES = (BOOSTER, *PICKLES, PREDICTIONS, FEATURE_BASELINE)
BUNDLE_FILES = (*DATA_FILES, MANIFEST)


class ArtifactError(ValueError):
    """A bundle is missing, incomplete or altered; the message names the file."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_bundle(
    model: MetaLearner,
    root: Path,
    run_id: str,
    manifest: dict,
    *,
    predictions: pd.DataFrame,
    baseline: pd.DataFrame,
) -> dict[str, str]:
    """Write ``model``, its out-of-sample ``predictions`` and its feature ``baseline`` to
    ``root/run_id`` atomically; return file name -> SHA-256."""
    root = Path(root)
    final = root / run_id
    if final.exists():
        raise ArtifactError(f"a bundle for run {run_id} already exists at {final}")
    root.mkdir(parents=True, exist_ok=True)
    temp = root / f".tmp-{run_id}-{secrets.token_hex(4)}"
    temp.mkdir()
    try:
        model.booster_.save_model(temp / BOOSTER)
        for name, part in zip(
            PICKLES, (model.selector_, model.calibrator_, model.baseline_), strict=True
        ):
            joblib.dump(part, temp / name)
        feather.write_feather(predictions.reset_index(), temp / PREDICTIONS, compression="lz4")
        feather.write_feather(baseline.reset_index(), temp / FEATURE_BASELINE, compression="lz4")
        hashes = {name: sha256_file(temp / name) for name in DATA_FILES}
        body = {
            **manifest,
            "run_id": run_id,
            "params": dataclasses.asdict(model.params or LearnerParams()),
            "best_iteration": model.booster_.best_iteration,
            "outcome_returns": list(model.outcome_returns_),
            "files": hashes,
        }
        (temp / MANIFEST).write_text(json.dumps(body, indent=2, sort_keys=True, default=str))
        hashes[MANIFEST] = sha256_file(temp / MANIFEST)
        os.rename(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return hashes


def verify_files(folder: Path, expected: dict[str, str]) -> None:
    """Raise ArtifactError unless every bundle file exists and matches ``expected``."""
    folder = Path(folder)
    missing = [name for name in BUNDLE_FILES if name not in expected]
    if missing:
        raise ArtifactError(f"the record for {folder.name} lists no hash for {', '.join(missing)}")
    for name in BUNDLE_FILES:
        path = folder / name
        if not path.is_file():
            raise ArtifactError(f"{name} is missing from {folder}")
        actual = sha256_file(path)
        if actual != expected[name]:
            raise ArtifactError(
                f"{name} in {folder} has SHA-256 {actual[:12]}..., but {expected[name][:12]}... "
                "was recorded: the file was changed after training, so it is not loaded"
            )


def discard_bundle(root: Path, run_id: str) -> None:
    """Remove whatever a run that did not finish left under ``root``: its temporary folder
    (killed while writing) or a bundle it renamed into place but never registered."""
    for leftover in [Path(root) / run_id, *Path(root).glob(f".tmp-{run_id}-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def read_manifest(folder: Path) -> dict:
    """The manifest as JSON (safe to read before the hash check: it is not executed)."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {MANIFEST} in {folder}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{MANIFEST} in {folder} is not a JSON object")
    return manifest


def read_bundle(folder: Path, expected: dict[str, str]) -> tuple[MetaLearner, dict]:
    """The fitted model and its manifest, after ``verify_files`` passes."""
    verify_files(folder, expected)
    manifest = read_manifest(folder)
    fields = {f.name for f in dataclasses.fields(LearnerParams)}
    raw = {k: v for k, v in manifest["params"].items() if k in fields}
    raw["families"] = tuple(raw.get("families", ()))
    model = MetaLearner(LearnerParams(**raw))
    booster = xgb.Booster()
    booster.load_model(Path(folder) / BOOSTER)
    model.booster_ = booster
    model.selector_, model.calibrator_, model.baseline_ = (
        joblib.load(Path(folder) / name) for name in PICKLES
    )
    model.outcome_returns_ = tuple(manifest["outcome_returns"])
    if booster.best_iteration != manifest["best_iteration"]:
        raise ArtifactError(f"{BOOSTER} in {folder} does not carry the recorded stopping round")
    return model, manifest


def read_predictions(
    folder: Path, expected: dict[str, str], name: str = PREDICTIONS
) -> pd.DataFrame:
    """The run's out-of-sample predictions (or, with ``name=FEATURE_BASELINE``, its feature
    baseline) by (ticker, date), after the hash check."""
    verify_files(folder, expected)
    frame = feather.read_table(Path(folder) / name).to_pandas()
    return frame.set_index(["ticker", "date"])


def manifest_hashes(folder: Path) -> dict[str, str]:
    """For importing a bundle trained elsewhere: the hashes its own manifest records, plus
    the manifest's own hash, checked against the files before anything is unpickled."""
    manifest = read_manifest(folder)
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(DATA_FILES):
        raise ArtifactError(f"{MANIFEST} in {folder} does not list the bundle's files")
    hashes = {**files, MANIFEST: sha256_file(Path(folder) / MANIFEST)}
    verify_files(folder, hashes)
    return hashes
