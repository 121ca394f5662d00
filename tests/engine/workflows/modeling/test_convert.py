"""A run trained here in the old bundle format (pickles) is converted once, by refitting,
without any pickle being opened; a run whose data changed since is refused."""

from __future__ import annotations

import json
import pickle
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.modeling.artifacts import (
    LEGACY_BUNDLE_FILES,
    LEGACY_FILES,
    MANIFEST,
    bundle_files,
    sha256_file,
)
from engine.workflows.modeling import convert
from store.db import open_db
from store.models import ModelRunRepository
from tests.builders import SMALL_TRAIN, ArmedPickle, tree_digest


@pytest.fixture(scope="module")
def _trained_template(_seeded_template: Path, tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("convert")
    db = folder / "store.db"
    db.write_bytes(_seeded_template.read_bytes())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(workflows.ARTIFACTS_ENV_VAR, str(folder / "artifacts"))
        record = workflows.train_model(db, SMALL_TRAIN)
    return db, Path(record.artifact_dir)


@pytest.fixture
def trained(_trained_template, tmp_path, monkeypatch) -> tuple[Path, dict]:
    """A private copy of the store and of the run's folder."""
    template_db, template_bundle = _trained_template
    monkeypatch.setenv(workflows.ARTIFACTS_ENV_VAR, str(tmp_path / "artifacts"))
    bundle = tmp_path / "artifacts" / template_bundle.name
    shutil.copytree(template_bundle, bundle)
    db = tmp_path / "store.db"
    db.write_bytes(template_db.read_bytes())
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE model_runs SET artifact_dir = ?", (str(bundle),))
    return db, workflows.load_run(db, bundle.name)


def to_old_format(db: Path, record: dict, marker: Path) -> dict:
    """Rewrite the run as the old code wrote and registered it: the selector, calibrator
    and baseline dumped with joblib (the calibrator armed: loading it creates ``marker``),
    no model.json, a manifest without bundle_format, the record listing those files."""
    folder = Path(record.artifact_dir)
    model, _ = workflows.load_model(db, record.run_id)
    parts = (model.selector_, ArmedPickle(marker), model.baseline_)
    for name, part in zip(LEGACY_FILES, parts, strict=True):
        joblib.dump(part, folder / name)
    (folder / "model.json").unlink()
    manifest = json.loads((folder / MANIFEST).read_text())
    del manifest["bundle_format"]
    manifest["files"] = {n: sha256_file(folder / n) for n in LEGACY_BUNDLE_FILES if n != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    hashes = {**manifest["files"], MANIFEST: sha256_file(folder / MANIFEST)}
    with closing(open_db(db)) as handle:
        ModelRunRepository(handle).complete(
            record.run_id,
            metrics=record.metrics,
            files=hashes,
            artifact_dir=record.artifact_dir,
            feature_version=record.feature_version,
            data_hash=record.data_hash,
            code_version=record.code_version,
            trained_through=None,  # format-1 runs did not record it
        )
    return workflows.load_run(db, record.run_id)


@pytest.fixture
def no_unpickling(monkeypatch) -> None:
    def never(*args, **kwargs):
        raise AssertionError("a pickle was opened")

    for module, name in [(joblib, "load"), (pickle, "load"), (pickle, "loads")]:
        monkeypatch.setattr(module, name, never)


def rows(db: Path) -> pd.DataFrame:
    features = workflows.load_features(db, list(SMALL_TRAIN.tickers))
    dates = features.index.get_level_values("date")
    return features[(dates > "2018-03-01") & (dates <= SMALL_TRAIN.as_of)]


def test_an_old_format_local_run_is_converted_once_by_refitting(
    trained, tmp_path, no_unpickling
) -> None:
    db, record = trained
    marker = tmp_path / "pwned"
    original, _ = workflows.load_model(db, record.run_id)
    old = to_old_format(db, record, marker)
    folder = Path(old.artifact_dir)
    assert convert.needs_conversion(old) and not (folder / "model.json").exists()
    model, converted = workflows.load_model(db, record.run_id)
    assert not marker.exists()
    assert set(converted.files) == set(bundle_files("xgboost"))
    assert converted == workflows.load_run(db, record.run_id)
    assert {name: sha256_file(folder / name) for name in bundle_files("xgboost")} == converted.files
    # the pickles are gone
    assert sorted(p.name for p in folder.iterdir()) == sorted(bundle_files("xgboost"))
    manifest = json.loads((folder / MANIFEST).read_text())
    assert manifest["bundle_format"] == 2 and manifest["converted_from"] == 1
    # the conversion records the trained-through date format 1 did not (the newest end date)
    assert converted.trained_through == record.trained_through == manifest["trained_through"]
    assert converted.files["booster.ubj"] == old.files["booster.ubj"]
    X = rows(db)
    for method in ("predict_proba", "raw_proba", "baseline_proba"):
        np.testing.assert_array_equal(getattr(model, method)(X), getattr(original, method)(X))
    pd.testing.assert_frame_equal(model.contributions(X), original.contributions(X))
    with pytest.MonkeyPatch.context() as patch:  # once: nothing is refitted again
        patch.setattr(convert, "fit_final_model", lambda *a: pytest.fail("refitted again"))
        assert workflows.load_model(db, record.run_id)[1] == converted
        assert len(workflows.load_oos_predictions(db, record.run_id)[0]) > 0


def test_a_run_whose_prices_changed_is_refused_and_left_as_it_was(
    trained, tmp_path, no_unpickling
) -> None:
    db, record = trained
    old = to_old_format(db, record, tmp_path / "pwned")
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute(
            "UPDATE prices SET close = close * 1.01 WHERE ticker = 'KO' AND date = '2018-01-03'"
        )
    before = tree_digest(Path(old.artifact_dir))
    with pytest.raises(workflows.ArtifactError, match=r"stored prices are not the ones .*Retrain"):
        workflows.load_model(db, record.run_id)
    assert tree_digest(Path(old.artifact_dir)) == before  # (the feature cache may refresh)
    assert workflows.load_run(db, record.run_id) == old
    assert not (tmp_path / "pwned").exists()


def test_a_refit_that_does_not_reproduce_the_booster_or_an_imported_run_is_refused(
    trained, tmp_path, no_unpickling
) -> None:
    db, record = trained
    old = to_old_format(db, record, tmp_path / "pwned")
    params = {**old.params, "learner": {**old.params["learner"], "seed": 7}}
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE model_runs SET params_json = ?", (json.dumps(params),))
    before = tree_digest(Path(old.artifact_dir))
    with pytest.raises(workflows.ArtifactError, match="does not reproduce its booster.*Retrain"):
        workflows.load_oos_predictions(db, record.run_id)
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE model_runs SET origin = 'imported'")
    with pytest.raises(workflows.ArtifactError, match=r"\(imported\) is in the old bundle format"):
        workflows.load_model(db, record.run_id)
    assert tree_digest(Path(old.artifact_dir)) == before
    assert workflows.load_run(db, record.run_id).files == old.files
    assert not (tmp_path / "pwned").exists()
