"""Bundles are data: every estimator round-trips through plain parameters with identical
predictions, a bundle is written whole or not at all, a changed file is refused before
anything is parsed, and an old-format (pickled) bundle is refused unopened."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.modeling import artifacts
from engine.modeling.artifacts import ArtifactError, manifest_hashes, read_bundle, write_bundle
from engine.modeling.calibration import EPS, ProbabilityCalibrator
from engine.modeling.evaluation import make_dataset
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.learners import XGBoostLearner
from engine.modeling.selection import FeatureSelector, LogisticBaseline


def through_json(params: dict) -> dict:
    """What a bundle stores and reads back."""
    return json.loads(json.dumps(params, allow_nan=False))


@pytest.fixture(scope="module")
def model_and_rows():
    panel = make_panel(20, 500, kind="planted", seed=14)
    data = make_dataset(compute_features(panel.prices), compute_labels(panel.prices, LabelParams()))
    model = XGBoostLearner().fit(data, data["label"], data["end_date"])
    return model, data.tail(300)


@pytest.fixture(scope="module")
def scores():
    """Raw scores, outcomes that depend on them, and three regimes (one too small)."""
    rng = np.random.default_rng(3)
    s = rng.uniform(0.05, 0.95, 1500)
    y = (rng.uniform(size=1500) < 0.2 + 0.6 * s).astype(int)
    regimes = rng.choice([0.0, 1.0, 2.0], size=1500, p=[0.5, 0.45, 0.05])
    regimes[:20] = np.nan
    return s, y, regimes


def bundle(model, root, run_id, manifest=None, **options):
    predictions = pd.DataFrame(
        {"p": [0.4, 0.6], "label": [0.0, 1.0]},
        index=pd.MultiIndex.from_tuples(
            [("A", pd.Timestamp("2020-01-02")), ("B", pd.Timestamp("2020-01-02"))],
            names=["ticker", "date"],
        ),
    )
    baseline = predictions.rename(columns={"p": "rsi_14", "label": "ret_5d"})
    return write_bundle(
        model, root, run_id, manifest or {}, predictions=predictions, baseline=baseline, **options
    )


# --- each estimator through its parameters ---------------------------------------------


def test_the_feature_selector_round_trips(model_and_rows) -> None:
    model, rows = model_and_rows
    params = through_json(model.selector_.to_params())
    again = FeatureSelector.from_params(params)
    assert again.columns_ == model.selector_.columns_
    assert again.importance_ == model.selector_.importance_
    assert again.get_params() == model.selector_.get_params()
    pd.testing.assert_frame_equal(again.transform(rows), model.selector_.transform(rows))


@pytest.mark.parametrize("per_regime", [False, True], ids=["global", "per regime"])
@pytest.mark.parametrize("method", ["platt", "isotonic", "beta"])
def test_every_calibrator_round_trips_exactly(scores, method, per_regime) -> None:
    s, y, regimes = scores
    fitted = ProbabilityCalibrator(method, per_regime=per_regime).fit(s, y, regimes)
    assert sorted(fitted.regime_models_) == ([0, 1] if per_regime else [])  # 2 is too small
    again = ProbabilityCalibrator.from_params(through_json(fitted.to_params()))
    assert again.get_params() == fitted.get_params()
    grid = np.concatenate([np.linspace(0, 1, 501), s])
    where = np.resize(regimes, len(grid))
    np.testing.assert_array_equal(
        again.predict_proba(grid, where), fitted.predict_proba(grid, where)
    )
    np.testing.assert_array_equal(again.predict_proba(grid), fitted.predict_proba(grid))
    for regime, (weight, _) in fitted.regime_models_.items():
        assert again.regime_models_[regime][0] == weight


def test_a_beta_curve_that_drops_a_slope_round_trips() -> None:
    rng = np.random.default_rng(8)
    s = rng.uniform(0.01, 0.99, 800)
    y = (rng.uniform(size=800) < np.where(s < 0.5, 0.5, 0.2 + 0.6 * s)).astype(int)
    fitted = ProbabilityCalibrator("beta").fit(s, y)
    assert fitted.global_.keep != [0, 1]
    again = ProbabilityCalibrator.from_params(through_json(fitted.to_params()))
    np.testing.assert_array_equal(again.predict_proba(s), fitted.predict_proba(s))


def test_the_isotonic_curve_predicts_what_scikit_learn_does(scores) -> None:
    s, y, _ = scores
    reference = IsotonicRegression(y_min=EPS, y_max=1 - EPS, out_of_bounds="clip").fit(s, y)
    grid = np.linspace(-0.5, 1.5, 2001)
    ours = ProbabilityCalibrator("isotonic").fit(s, y).predict_proba(grid)
    np.testing.assert_allclose(ours, np.clip(reference.predict(grid), EPS, 1 - EPS), atol=1e-12)


def test_the_logistic_baseline_round_trips_and_matches_the_pipeline() -> None:
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(400, 4)), columns=["a", "b", "c", "empty"])
    X.loc[rng.uniform(size=400) < 0.2, "a"] = np.nan
    X["empty"] = np.nan  # kept (imputed with 0), as the pipeline's keep_empty_features does
    y = (X["b"] + rng.normal(size=400) > 0).astype(int).to_numpy()
    fitted = LogisticBaseline().fit(X, y)
    again = LogisticBaseline.from_params(through_json(fitted.to_params()))
    np.testing.assert_array_equal(again.predict_proba(X), fitted.predict_proba(X))
    pipeline = make_pipeline(
        SimpleImputer(strategy="median", keep_empty_features=True),
        StandardScaler(),
        LogisticRegression(C=0.1, max_iter=500),
    ).fit(X, y)
    np.testing.assert_allclose(fitted.predict_proba(X), pipeline.predict_proba(X), atol=1e-12)


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (FeatureSelector, {"top_k": 2}, "selector has no 'max_correlation'"),
        (LogisticBaseline, [], "baseline must be a JSON object"),
        (ProbabilityCalibrator, {"method": "exec"}, "method must be one of"),
        (
            ProbabilityCalibrator,
            {
                "method": "isotonic",
                "per_regime": False,
                "shrinkage": 1,
                "min_regime_rows": 1,
                "global": {"x": [0.1, "os.system"], "y": [0.2, 0.3]},
                "regimes": [],
            },
            "calibrator.global.x must hold numbers only",
        ),
    ],
    ids=["missing field", "not an object", "unknown method", "text for a number"],
)
def test_bad_parameters_are_named(cls, params, message) -> None:
    with pytest.raises(ValueError, match=message):
        cls.from_params(params)


# --- whole bundles ---------------------------------------------------------------------


def test_bundle_round_trip_predicts_identically(tmp_path: Path, model_and_rows) -> None:
    model, rows = model_and_rows
    hashes = bundle(model, tmp_path, "run1", {"metrics": {"auc": 0.55}})
    assert set(hashes) == set(artifacts.bundle_files("xgboost"))
    assert not list((tmp_path / "run1").glob("*.joblib"))
    loaded, manifest = read_bundle(tmp_path / "run1", hashes)
    for method in ("predict_proba", "raw_proba", "baseline_proba"):
        np.testing.assert_array_equal(getattr(loaded, method)(rows), getattr(model, method)(rows))
    pd.testing.assert_frame_equal(loaded.contributions(rows), model.contributions(rows))
    assert loaded.outcome_returns_ == model.outcome_returns_
    assert manifest["metrics"] == {"auc": 0.55} and manifest["run_id"] == "run1"
    assert manifest["bundle_format"] == artifacts.BUNDLE_FORMAT == 2
    assert "signature" not in manifest
    predictions = artifacts.read_predictions(tmp_path / "run1", hashes)
    assert predictions.loc[("B", pd.Timestamp("2020-01-02")), "p"] == 0.6
    assert [p.name for p in tmp_path.iterdir()] == ["run1"]


@pytest.mark.parametrize("victim", ["model.json", "booster.ubj", "manifest.json"])
def test_a_changed_file_is_refused_before_it_is_parsed(
    tmp_path, model_and_rows, monkeypatch, victim
) -> None:
    model, _ = model_and_rows
    hashes = bundle(model, tmp_path, "run2", {})
    path = tmp_path / "run2" / victim
    path.write_bytes(path.read_bytes() + b"\x00")

    def never(*args, **kwargs):
        raise AssertionError("parsed a file that failed its hash check")

    monkeypatch.setattr(FeatureSelector, "from_params", never)
    monkeypatch.setattr(xgb.Booster, "load_model", never)
    monkeypatch.setattr(artifacts, "read_manifest", never)
    with pytest.raises(ArtifactError, match=f"{victim} in .* has SHA-256 .* was recorded"):
        read_bundle(tmp_path / "run2", hashes)


def test_missing_file_and_missing_record_are_named(tmp_path, model_and_rows) -> None:
    model, _ = model_and_rows
    hashes = bundle(model, tmp_path, "run3", {})
    (tmp_path / "run3" / "model.json").unlink()
    with pytest.raises(ArtifactError, match="model.json is missing"):
        read_bundle(tmp_path / "run3", hashes)
    with pytest.raises(ArtifactError, match="lists no hash for model.json"):
        read_bundle(tmp_path / "run3", {k: v for k, v in hashes.items() if k != "model.json"})


def test_a_failed_write_leaves_nothing_behind(tmp_path, model_and_rows, monkeypatch) -> None:
    model, _ = model_and_rows
    calls = {"n": 0}
    write = artifacts.feather.write_feather

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return write(*args, **kwargs)

    monkeypatch.setattr(artifacts.feather, "write_feather", failing)
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


def rewrite_manifest(folder: Path, **changes) -> dict[str, str]:
    """Change the manifest (keeping its file hashes right); return the new hashes."""
    body = json.loads((folder / "manifest.json").read_text())
    body.update(changes)
    body["files"] = {n: artifacts.sha256_file(folder / n) for n in artifacts.data_files("xgboost")}
    (folder / "manifest.json").write_bytes(artifacts.manifest_document(body))
    return {**body["files"], "manifest.json": artifacts.sha256_file(folder / "manifest.json")}


def test_an_old_or_newer_format_is_refused_after_reading_only_the_manifest(
    tmp_path, model_and_rows, monkeypatch
) -> None:
    model, _ = model_and_rows
    bundle(model, tmp_path, "run6", {})
    folder = tmp_path / "run6"
    monkeypatch.setattr(artifacts, "verify_files", lambda *a, **k: pytest.fail("read files"))
    body = json.loads((folder / "manifest.json").read_text())
    del body["bundle_format"]
    (folder / "manifest.json").write_text(json.dumps(body))
    with pytest.raises(ArtifactError, match="old bundle format .* Retrain it with models/train"):
        manifest_hashes(folder)
    (folder / "manifest.json").write_text(json.dumps({**body, "bundle_format": 3}))
    with pytest.raises(ArtifactError, match="format 3, newer than this version reads"):
        manifest_hashes(folder)
    (folder / "manifest.json").write_text(json.dumps({**body, "bundle_format": 2}))
    (folder / "calibrator.joblib").write_bytes(b"never opened")
    with pytest.raises(ArtifactError, match="old bundle format"):
        manifest_hashes(folder)


def test_a_model_json_that_describes_no_model_is_refused(tmp_path, model_and_rows) -> None:
    model, _ = model_and_rows
    bundle(model, tmp_path, "run7", {})
    folder = tmp_path / "run7"
    body = json.loads((folder / "model.json").read_text())
    body["baseline"]["columns"] = body["baseline"]["columns"][::-1]
    (folder / "model.json").write_text(json.dumps(body))
    with pytest.raises(ArtifactError, match="model.json in .* baseline's columns are not"):
        read_bundle(folder, rewrite_manifest(folder))
    (folder / "model.json").write_text('{"bundle_format": 2, "selector": NaN}')
    with pytest.raises(ArtifactError, match="model.json in .* NaN is not a number"):
        read_bundle(folder, rewrite_manifest(folder))
