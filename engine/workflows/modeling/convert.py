"""The one-time conversion of runs trained here in bundle format 1 to format 2.

Format 1 kept the selector, calibrator and logistic baseline as pickles. They are never
opened: the run's final model is refitted from its recorded TrainConfig on the stored
data, exactly as ``runs.train_model`` fitted it (seeded, deterministic), and the refit is
accepted only if its booster predicts what the run's own ``booster.ubj`` predicts on the
final training window, which shows that the refit reproduces the other parts too. Then
``model.json`` and a format-2 manifest replace the pickles in the run's folder (temporary
files renamed into place) and the store's record of the file hashes is updated in the same
transaction. Only runs trained on this install (origin 'local') are converted; anything
else in format 1 is refused with a message saying how to get a current bundle.
"""

from __future__ import annotations

import copy
import os
import secrets
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd

from engine.modeling.artifacts import (
    BUNDLE_FORMAT,
    FEATURE_BASELINE,
    LEGACY_FILES,
    MANIFEST,
    MODEL,
    PREDICTIONS,
    ArtifactError,
    legacy_message,
    manifest_document,
    model_document,
    read_manifest,
    sha256_bytes,
    verify_files,
)
from engine.modeling.booster_check import read_booster
from engine.modeling.learners import XGBoostLearner
from engine.modeling.learners.xgboost_learner import BOOSTER_FILE
from engine.modeling.training import TrainConfig, build_dataset, data_hash, fit_final_model
from engine.settings import load_settings
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import build_snapshot
from store.db import open_db, write_transaction
from store.models import ModelRun, ModelRunRepository

TOLERANCE = 1e-6  # the refitted booster's P(up) against the stored one's, on the window


def needs_conversion(record: ModelRun) -> bool:
    """Whether a run's recorded files are format 1 (pickles)."""
    return any(name in LEGACY_FILES for name in record.files or {})


def ensure_current_format(db_path: DbPath, record: ModelRun) -> ModelRun:
    """``record`` if its bundle is current; otherwise convert it once and return the
    updated record. Raises ArtifactError when the run cannot be converted."""
    if not needs_conversion(record):
        return record
    run_id, folder = record.run_id, Path(record.artifact_dir)
    if record.origin != "local":
        raise ArtifactError(legacy_message(f"run {run_id} (imported)"))
    kept = (BOOSTER_FILE, PREDICTIONS, FEATURE_BASELINE)  # the pickles are never even hashed
    verify_files(folder, record.files, (*kept, MANIFEST))  # unchanged since training
    old_manifest = (folder / MANIFEST).read_bytes()
    manifest = read_manifest(folder)
    model, through = _refit(db_path, record, manifest)
    files = {name: record.files[name] for name in kept}
    document = model_document(model)
    files[MODEL] = sha256_bytes(document)
    body = {
        **manifest,
        "bundle_format": BUNDLE_FORMAT,
        "files": files,
        "converted_from": 1,
        "trained_through": through,  # format 1 wrote its last labelled date here
        "last_labelled_date": manifest.get("trained_through"),
    }
    new_manifest = manifest_document(body, load_settings().signing.key)
    hashes = {**files, MANIFEST: sha256_bytes(new_manifest)}
    return _replace_files(
        db_path,
        run_id,
        folder,
        document=document,
        manifest=new_manifest,
        old_manifest=old_manifest,
        hashes=hashes,
        trained_through=through,
    )


def _refit(db_path: DbPath, record: ModelRun, manifest: dict) -> tuple[XGBoostLearner, str]:
    """The run's final model fitted again, after checking it reproduces the booster, and
    its trained-through date (the newest label end date of the rows it was trained on)."""
    run_id = record.run_id
    retrain = f"run {run_id} is in the old bundle format and cannot be converted"
    try:
        config = TrainConfig.from_dict(record.params)
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{retrain}: its recorded TrainConfig does not load ({exc})") from exc
    # the data train_model used; format 1 hashed the prices up to the last labelled date
    snapshot = build_snapshot(db_path, config.tickers, config.as_of)
    prices = snapshot.prices
    data = build_dataset(snapshot.features, prices, snapshot.regimes["regime_id"], config)
    now = data_hash(prices[prices["date"] <= data.index.get_level_values("date").max()])
    if now != record.data_hash:
        raise ArtifactError(
            f"{retrain}: the stored prices are not the ones it was trained on (data hash "
            f"{now[:12]}... now, {str(record.data_hash)[:12]}... recorded; prices "
            "restated or removed since). Retrain it (Training page or models/train.py)"
        )
    model, window = fit_final_model(data, config)
    columns = model.selector_.columns_
    try:  # checked before XGBoost parses it, like every booster the project loads
        stored = read_booster((Path(record.artifact_dir) / BOOSTER_FILE).read_bytes(), columns)
    except ValueError as exc:
        raise ArtifactError(f"{retrain}: its {BOOSTER_FILE} {exc}") from exc
    same = (
        stored.best_iteration == model.booster_.best_iteration == manifest.get("best_iteration")
        and list(stored.feature_names or []) == columns
    )
    if same:
        ours = model.raw_proba(window)
        twin = copy.copy(model)  # the same model around the stored booster: same inputs, rounds
        twin.booster_ = stored
        theirs = twin.raw_proba(window)
        recorded = np.asarray(manifest.get("outcome_returns", ()), dtype=float)
        refitted = np.asarray(model.outcome_returns_, dtype=float)
        same = (
            float(np.max(np.abs(ours - theirs))) <= TOLERANCE
            and recorded.shape == refitted.shape
            and np.allclose(refitted, recorded, rtol=0, atol=1e-12, equal_nan=True)
        )
    if not same:
        raise ArtifactError(
            f"{retrain}: refitting it on the stored data does not reproduce its booster "
            f"(selected features, stopping round or predictions differ). Retrain it "
            "(Training page or models/train.py)"
        )
    return model, f"{pd.Timestamp(data['end_date'].max()):%Y-%m-%d}"


def _replace_files(
    db_path: DbPath,
    run_id: str,
    folder: Path,
    *,
    document: bytes,
    manifest: bytes,
    old_manifest: bytes,
    hashes: dict[str, str],
    trained_through: str,
) -> ModelRun:
    """Rename the new files into place and record their hashes in one transaction (the
    old manifest is put back if that fails), then remove the pickles."""
    stamp = secrets.token_hex(4)
    temps = {name: folder / f".{name}.tmp-{stamp}" for name in (MODEL, MANIFEST, "old")}
    try:
        temps[MODEL].write_bytes(document)
        temps[MANIFEST].write_bytes(manifest)
        replaced = False
        with closing(open_db(db_path)) as db:
            runs = ModelRunRepository(db)
            try:
                with write_transaction(db):
                    current = runs.get(run_id)
                    if current is None or not needs_conversion(current):
                        return current  # another process converted it meanwhile
                    os.replace(temps[MODEL], folder / MODEL)
                    os.replace(temps[MANIFEST], folder / MANIFEST)
                    replaced = True
                    runs.update_files(run_id, hashes, trained_through)
            except BaseException:
                if replaced:  # the record still lists the old manifest: put it back
                    temps["old"].write_bytes(old_manifest)
                    os.replace(temps["old"], folder / MANIFEST)
                raise
            record = runs.get(run_id)
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
    for name in LEGACY_FILES:
        (folder / name).unlink(missing_ok=True)
    return record
