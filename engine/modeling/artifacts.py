"""Model bundles on disk: data only, written whole or not at all, read only after every
hash matches.

A bundle (format 2) is a folder ``<root>/<run_id>/``: the learner's model in its native
format (XGBoost's ``booster.ubj``, LightGBM's ``lightgbm.txt`` or the linear model's
``linear.json``; the manifest's ``params.learner`` says which, none meaning XGBoost); the
selector, normalizer, calibrator and logistic baseline as plain fitted
parameters in ``model.json`` (columns, coefficients, intercepts, thresholds, imputer
statistics, scaler mean and scale: numbers written losslessly, rebuilt on load); the
walk-forward's out-of-sample predictions (``oos_predictions.arrow``, for the Calibration
page); a sample of the final training window's features (``feature_baseline.arrow``, the
drift monitor's baseline); and ``manifest.json`` (format version, parameters, data hash,
code version, metrics, SHA-256 of every file, optionally an HMAC signature, see
``engine.modeling.signing``). Nothing in a bundle is ever unpickled or executed.

Beside the bundle, the run's folder keeps its analyses as typed records
(``calibration_record.json``, ``signal_record.json``; ``engine.modeling.records``): derived
from the verified predictions here, when the run is trained or first shown, never taken
from an imported folder (an import checks them and refuses a malformed one).

It is written under a temporary name and renamed into place. ``read_bundle`` hashes every
file against the hashes it is given (the store's record) before it parses anything, and the
learner checks its model file in Python (``engine.modeling.booster_check`` for XGBoost,
``engine.modeling.learners.lightgbm_check`` for LightGBM, field by field for linear) before
a native parser sees it: on import and on every read, so a bundle registered before the
check existed is checked too (about 30 ms for 600 trees). A process reuses a verified model
only while none of its files has changed (``engine.workflows.modeling.runs``).
Format 1 bundles (``*.joblib`` pickles, no ``bundle_format``) are never opened: an
imported one is refused, a run trained here is converted once by refitting
(``engine.workflows.modeling.convert``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from pyarrow import feather

from engine.modeling.calibration import ProbabilityCalibrator
from engine.modeling.learners import LEARNER_CLASSES, LEARNERS, Learner, LearnerParams, make_learner
from engine.modeling.learners.xgboost_learner import BOOSTER_FILE
from engine.modeling.processors import CrossSectionalNormalizer
from engine.modeling.records import read_record, record_document
from engine.modeling.selection import FeatureSelector, LogisticBaseline
from engine.modeling.serialization import finite_json_document, json_document
from engine.modeling.signing import SIGNATURE, SIGNED_BY, key_fingerprint, sign_manifest

MODEL, MANIFEST = "model.json", "manifest.json"
PREDICTIONS, FEATURE_BASELINE = "oos_predictions.arrow", "feature_baseline.arrow"
COMMON_FILES = (MODEL, PREDICTIONS, FEATURE_BASELINE, MANIFEST)  # every learner's bundle
MODEL_FILES = tuple(LEARNER_CLASSES[name].MODEL_FILE for name in LEARNERS)
BUNDLE_FORMAT = 2
# Format 1 kept these parts as pickles; their names are only ever compared, never opened.
LEGACY_FILES = ("selector.joblib", "calibrator.joblib", "baseline.joblib")
LEGACY_BUNDLE_FILES = (BOOSTER_FILE, *LEGACY_FILES, PREDICTIONS, FEATURE_BASELINE, MANIFEST)
CALIBRATION_RECORD, SIGNAL_RECORD = "calibration_record.json", "signal_record.json"
RECORD_FILES = (CALIBRATION_RECORD, SIGNAL_RECORD)


class ArtifactError(ValueError):
    """A bundle is missing, incomplete, altered or in a format this version does not
    read; the message names the file or says what to do."""


def legacy_message(what: str) -> str:
    """Why an old-format bundle is refused and how to get a current one."""
    return (
        f"{what} is in the old bundle format (format 1: its selector, calibrator and "
        "baseline are pickles, which this version never opens, since a pickle can run code "
        "when loaded). Retrain it with models/train.py (or the Training page) from this "
        "version, or re-export it: on the install that trained it, update to this version "
        "and load the run once (it converts itself to bundle format "
        f"{BUNDLE_FORMAT}), then zip its folder again"
    )


def data_files(learner: str) -> tuple[str, ...]:
    """The hashed data files of a ``learner``'s bundle (all but the manifest)."""
    return (LEARNER_CLASSES[learner].MODEL_FILE, MODEL, PREDICTIONS, FEATURE_BASELINE)


def bundle_files(learner: str) -> tuple[str, ...]:
    """Every file of a ``learner``'s bundle."""
    return (*data_files(learner), MANIFEST)


def learner_of(manifest: dict, folder: Path) -> str:
    """The learner family a manifest describes ("xgboost" when it names none: every bundle
    written before the model zoo); ArtifactError for any other value."""
    params = manifest.get("params")
    learner = params.get("learner", "xgboost") if isinstance(params, dict) else "xgboost"
    if learner not in LEARNERS:
        raise ArtifactError(f"{MANIFEST} in {folder} names a learner this version does not have")
    return learner


def check_format(manifest: dict, folder: Path) -> None:
    """Raise ArtifactError unless the manifest says bundle format ``BUNDLE_FORMAT``."""
    version = manifest.get("bundle_format")
    if version is None:
        raise ArtifactError(legacy_message(f"the bundle in {folder}"))
    if type(version) is not int:
        raise ArtifactError(f"{MANIFEST} in {folder} has a bundle_format that is no number")
    if version > BUNDLE_FORMAT:
        raise ArtifactError(
            f"the bundle in {folder} has format {version}, newer than this version reads "
            f"({BUNDLE_FORMAT}): update this install to load it"
        )
    if version != BUNDLE_FORMAT:
        raise ArtifactError(legacy_message(f"the bundle in {folder}"))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def model_document(model: Learner) -> bytes:
    """``model.json``: the selector, calibrator and baseline as fitted parameters."""
    body = {
        "bundle_format": BUNDLE_FORMAT,
        "selector": model.selector_.to_params(),
        "calibrator": model.calibrator_.to_params(),
        "baseline": model.baseline_.to_params(),
        "normalizer": None if model.normalizer_ is None else model.normalizer_.to_params(),
    }
    return json.dumps(body, indent=1, sort_keys=True, allow_nan=False).encode()


def manifest_document(body: dict, signing_key: bytes | None = None) -> bytes:
    """``manifest.json`` for ``body``, signed with ``signing_key`` when one is given (the
    signature covers the manifest as it reads back, so timestamps are strings first)."""
    body = json.loads(json.dumps(body, default=str))
    body.pop(SIGNATURE, None)
    body.pop(SIGNED_BY, None)
    if signing_key:
        body[SIGNED_BY] = key_fingerprint(signing_key)
        body[SIGNATURE] = sign_manifest(body, signing_key)
    return json.dumps(body, indent=2, sort_keys=True).encode()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_bundle(
    model: Learner,
    root: Path,
    run_id: str,
    manifest: dict,
    *,
    predictions: pd.DataFrame,
    baseline: pd.DataFrame,
    signing_key: bytes | None = None,
) -> dict[str, str]:
    """Write ``model``, its out-of-sample ``predictions`` and its feature ``baseline`` to
    ``root/run_id`` atomically (the manifest signed with ``signing_key`` if given); return
    file name -> SHA-256."""
    root = Path(root)
    final = root / run_id
    if final.exists():
        raise ArtifactError(f"a bundle for run {run_id} already exists at {final}")
    root.mkdir(parents=True, exist_ok=True)
    temp = root / f".tmp-{run_id}-{secrets.token_hex(4)}"
    temp.mkdir()
    try:
        params = model.params or LearnerParams()
        (temp / model.MODEL_FILE).write_bytes(model.model_bytes())
        (temp / MODEL).write_bytes(model_document(model))
        feather.write_feather(predictions.reset_index(), temp / PREDICTIONS, compression="lz4")
        feather.write_feather(baseline.reset_index(), temp / FEATURE_BASELINE, compression="lz4")
        hashes = {name: sha256_file(temp / name) for name in data_files(params.learner)}
        body = {
            **manifest,
            "bundle_format": BUNDLE_FORMAT,
            "run_id": run_id,
            "params": dataclasses.asdict(params),
            **model.model_summary(),
            "outcome_returns": list(model.outcome_returns_),
            "files": hashes,
        }
        (temp / MANIFEST).write_bytes(manifest_document(body, signing_key))
        hashes[MANIFEST] = sha256_file(temp / MANIFEST)
        os.rename(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return hashes


def _check_listed(folder: Path, expected: dict[str, str], names: tuple[str, ...]) -> None:
    missing = [name for name in names if name not in expected]
    if missing:
        raise ArtifactError(f"the record for {folder.name} lists no hash for {', '.join(missing)}")


def verify_files(
    folder: Path, expected: dict[str, str], names: tuple[str, ...] | None = None
) -> None:
    """Raise ArtifactError unless each of ``names`` (default: every file ``expected``
    lists, which must include ``COMMON_FILES``) exists and matches ``expected``."""
    folder = Path(folder)
    _check_listed(folder, expected, COMMON_FILES if names is None else names)
    for name in tuple(expected) if names is None else names:
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
        manifest = json_document((Path(folder) / MANIFEST).read_bytes())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {MANIFEST} in {folder}: {exc}") from exc
    if not isinstance(manifest, dict):
        raise ArtifactError(f"{MANIFEST} in {folder} is not a JSON object")
    return manifest


def read_bundle(folder: Path, expected: dict[str, str]) -> tuple[Learner, dict]:
    """The fitted model and its manifest, after ``verify_files`` passes; the learner's
    model file is checked in Python before its native parser sees it."""
    folder = Path(folder)
    verify_files(folder, expected)
    manifest = read_manifest(folder)
    check_format(manifest, folder)
    learner = learner_of(manifest, folder)
    _check_listed(folder, expected, bundle_files(learner))
    try:
        fields = {f.name for f in dataclasses.fields(LearnerParams)}
        raw = {k: v for k, v in manifest["params"].items() if k in fields}
        raw["families"] = tuple(raw.get("families", ()))
        # manifests written before the cross-sectional kinds existed describe market timing
        raw.setdefault("kind", "market_timing")
        raw.setdefault("min_rounds", 1)  # they predicted with the early-stopping round
        model = make_learner(LearnerParams(**raw))
        model.outcome_returns_ = tuple(float(r) for r in manifest["outcome_returns"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ArtifactError(f"{MANIFEST} in {folder} does not describe a model: {exc}") from exc
    parts = read_model_document(folder / MODEL, cross_sectional=model.params.cross_sectional)
    data = (folder / model.MODEL_FILE).read_bytes()
    try:
        model.load_model(data, parts.selector.columns_, manifest)
    except ValueError as exc:  # what is wrong with the file, paths left out
        raise ArtifactError(f"{model.MODEL_FILE} in {folder} {exc}") from None
    model.classes_ = np.array([0, 1])
    model.selector_, model.baseline_ = parts.selector, parts.baseline
    model.calibrator_, model.normalizer_ = parts.calibrator, parts.normalizer
    return model, manifest


@dataclasses.dataclass(frozen=True)
class ModelDocument:
    """What ``model.json`` holds: the fitted selector, baseline, calibrator and (for the
    cross-sectional kinds) normalizer."""

    selector: FeatureSelector
    baseline: LogisticBaseline
    calibrator: ProbabilityCalibrator
    normalizer: CrossSectionalNormalizer | None


def read_model_document(path: Path, *, cross_sectional: bool) -> ModelDocument:
    """The fitted parts in ``model.json`` at ``path`` (a cross-sectional model's must hold a
    normalizer, a market-timing model's none)."""
    try:
        body = finite_json_document(path.read_bytes())
        if not isinstance(body, dict) or body.get("bundle_format") != BUNDLE_FORMAT:
            raise ValueError(f"it is not a JSON object of bundle format {BUNDLE_FORMAT}")
        selector = FeatureSelector.from_params(body.get("selector"))
        baseline = LogisticBaseline.from_params(body.get("baseline"))
        calibrator = ProbabilityCalibrator.from_params(body.get("calibrator"))
        normalizer = body.get("normalizer")
        if normalizer is not None:
            normalizer = CrossSectionalNormalizer.from_params(normalizer)
        if (normalizer is None) == cross_sectional:
            raise ValueError("a cross-sectional model needs its normalizer, market timing none")
        if baseline.columns_ != selector.columns_:
            raise ValueError("the baseline's columns are not the selector's")
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{MODEL} in {path.parent} does not describe a model: {exc}") from exc
    return ModelDocument(selector, baseline, calibrator, normalizer)


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
    the manifest's own hash, checked against the files before any of them is parsed. An
    old-format bundle is refused after reading nothing but its manifest."""
    folder = Path(folder)
    if any(folder.glob("*.joblib")):
        raise ArtifactError(legacy_message(f"the bundle in {folder}"))
    manifest = read_manifest(folder)
    check_format(manifest, folder)
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(data_files(learner_of(manifest, folder))):
        raise ArtifactError(f"{MANIFEST} in {folder} does not list the bundle's files")
    hashes = {**files, MANIFEST: sha256_file(folder / MANIFEST)}
    verify_files(folder, hashes)
    return hashes


def read_run_record(folder: Path, name: str, cls: type) -> object | None:
    """The ``cls`` record kept as ``name`` in a run's ``folder``, None when there is none;
    ArtifactError, naming the file, when it is not a ``cls`` record."""
    path = Path(folder) / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ArtifactError(f"cannot read {name} in {folder}: {exc}") from exc
    try:
        return read_record(cls, data)
    except ValueError as exc:
        raise ArtifactError(f"{name} in {folder} is not a {cls.__name__} record: {exc}") from None


def write_run_record(folder: Path, name: str, record: object) -> None:
    """Keep ``record`` as ``name`` in a run's ``folder`` (a temporary file renamed into
    place: a reader sees the whole record or none)."""
    temp = Path(folder) / f".tmp-{name}-{secrets.token_hex(4)}"
    temp.write_bytes(record_document(record))
    os.replace(temp, Path(folder) / name)
