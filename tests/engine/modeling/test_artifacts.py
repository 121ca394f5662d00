"""Bundles round-trip exactly, are written whole or not at all, and a changed file is
refused before anything is unpickled."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.modeling import artifacts
from engine.modeling.artifacts import ArtifactError, manifest_hashes, read_bundle, write_bundle
from engine.modeling.evaluation import make_dataset
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.learner import MetaLearner


@pytest.fixture(scope="module")
def model_and_rows():
    panel = make_panel(20, 500, kind="planted", seed=14)
    data = make_dataset(compute_features(panel.prices), compute_labels(panel.prices, LabelParams()))
    model = MetaLearner().fit(data, data["label"], data["end_date"])
    return model, data.tail(100)


def bundle(model, root, run_id, manifest=None):
    predictions = pd.DataFrame(
        {"p": [0.4, 0.6], "label": [0.0, 1.0]},
        index=pd.MultiIndex.from_tuples(
            [("A", pd.Timestamp("2020-01-02")), ("B", pd.Timestamp("2020-01-02"))],
            names=["ticker", "date"],
        ),
    )
    baseline = predictions.rename(columns={"p": "rsi_14", "label": "ret_5d"})
    return write_bundle(
        model, root, run_id, manifest or {}, predictions=predictions, baseline=baseline
    )


def test_bundle_round_trip_predicts_identically(tmp_path: Path, model_and_rows) -> None:
    model, rows = model_and_rows
    hashes = bundle(model, tmp_path, "run1", {"metrics": {"auc": 0.55}})
    assert set(hashes) == set(artifacts.BUNDLE_FILES)
    loaded, manifest = read_bundle(tmp_path / "run1", hashes)
    np.testing.assert_array_equal(loaded.predict_proba(rows), model.predict_proba(rows))
    np.testing.assert_array_equal(loaded.contributions(rows), model.contributions(rows))
    assert manifest["metrics"] == {"auc": 0.55} and manifest["run_id"] == "run1"
    predictions = artifacts.read_predictions(tmp_path / "run1", hashes)
    assert predictions.loc[("B", pd.Timestamp("2020-01-02")), "p"] == 0.6
    assert [p.name for p in tmp_path.iterdir()] == ["run1"]


@pytest.mark.parametrize("victim", ["calibrator.joblib", "booster.ubj", "manifest.json"])
def test_a_changed_file_is_refused_before_unpickling(
    tmp_path, model_and_rows, monkeypatch, victim
) -> None:
    model, _ = model_and_rows
    hashes = bundle(model, tmp_path, "run2", {})
    path = tmp_path / "run2" / victim
    path.write_bytes(path.read_bytes() + b"\x00")

    def never(*args, **kwargs):
        raise AssertionError("unpickled a file that failed its hash check")

    monkeypatch.setattr(joblib, "load", never)
    with pytest.raises(ArtifactError, match=f"{victim} in .* has SHA-256 .* was recorded"):
        read_bundle(tmp_path / "run2", hashes)


def test_missing_file_and_missing_record_are_named(tmp_path, model_and_rows) -> None:
    model, _ = model_and_rows
    hashes = bundle(model, tmp_path, "run3", {})
    (tmp_path / "run3" / "selector.joblib").unlink()
    with pytest.raises(ArtifactError, match="selector.joblib is missing"):
        read_bundle(tmp_path / "run3", hashes)
    with pytest.raises(ArtifactError, match="lists no hash for baseline.joblib"):
        read_bundle(tmp_path / "run3", {k: v for k, v in hashes.items() if k != "baseline.joblib"})


def test_a_failed_write_leaves_nothing_behind(tmp_path, model_and_rows, monkeypatch) -> None:
    model, _ = model_and_rows
    calls = {"n": 0}
    dump = joblib.dump

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return dump(*args, **kwargs)

    monkeypatch.setattr(artifacts.joblib, "dump", failing)
    with pytest.raises(OSError, match="disk full"):
        bundle(model, tmp_path, "run4", {})
    assert list(tmp_path.iterdir()) == []


def test_an_imported_bundle_is_checked_against_its_own_manifest(tmp_path, model_and_rows) -> None:
    model, _ = model_and_rows
    recorded = bundle(model, tmp_path, "run5", {})
    assert manifest_hashes(tmp_path / "run5") == recorded
    booster = tmp_path / "run5" / "booster.ubj"
    booster.write_bytes(booster.read_bytes()[::-1])
    with pytest.raises(ArtifactError, match="booster.ubj"):
        manifest_hashes(tmp_path / "run5")
    with pytest.raises(ArtifactError, match="already exists"):
        bundle(model, tmp_path, "run5", {})
