"""The model zoo's contract: every learner clones, gives P of two classes, explains its
score exactly, round-trips through a bundle, and refuses a crafted model file; on a
planted interaction of two features the trees and the network find it and the linear one
cannot."""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
)

from engine import workflows
from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.features.registry import FAMILY_NAMES, feature_columns
from engine.modeling import artifacts
from engine.modeling.artifacts import ArtifactError, manifest_hashes, read_bundle, write_bundle
from engine.modeling.evaluation import evaluate, make_dataset, walk_forward
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.learners import TABULAR_LEARNERS, LearnerParams, make_learner
from engine.modeling.learners.lightgbm_check import read_lightgbm_model
from engine.modeling.model_selection import PurgedWalkForward
from tests.builders import unchanged

FAST = {"n_estimators": 120, "early_stopping_rounds": 20, "min_rounds": 20}


@pytest.fixture(scope="module")
def rows():
    panel = make_panel(20, 500, kind="planted", seed=14)
    return make_dataset(compute_features(panel.prices), compute_labels(panel.prices, LabelParams()))


@pytest.fixture(scope="module")
def fitted(rows):
    """Each learner fitted on the rows but the last 300 (the classifier), and those rows."""
    train, test = rows.iloc[:-300], rows.tail(300)
    models = {
        name: make_learner(LearnerParams(learner=name, **FAST)).fit(
            train, train["label"], train["end_date"]
        )
        for name in TABULAR_LEARNERS
    }
    return models, test


def test_the_learners_follow_scikit_learns_conventions(fitted) -> None:
    models, test = fitted
    for name, model in models.items():
        twin = clone(model)
        assert twin.get_params() == model.get_params() and not hasattr(twin, "selector_")
        check_no_attributes_set_in_init(name, twin)
        check_get_params_invariance(name, twin)
        check_parameters_default_constructible(name, twin)
        p = model.predict_proba(test)
        assert p.shape == (len(test), 2) and list(model.classes_) == [0, 1]
        np.testing.assert_allclose(p.sum(axis=1), 1.0)
        assert ((p > 0) & (p < 1)).all()
        assert model.rank_score(test).shape == (len(test),)


def test_contributions_add_up_to_the_score(fitted) -> None:
    models, test = fitted
    for name, model in models.items():
        contributions = model.contributions(test)
        assert list(contributions.columns) == [*model.selector_.columns_, "bias"], name
        np.testing.assert_allclose(
            contributions.sum(axis=1), model.rank_score(test), rtol=1e-5, atol=1e-5
        )
        together = model.explained_predictions(test)
        np.testing.assert_array_equal(together.score, model.rank_score(test))
        np.testing.assert_array_equal(together.probability, model.predict_proba(test)[:, 1])


@pytest.mark.parametrize("kind", ["ranker", "regressor"])
@pytest.mark.parametrize("name", TABULAR_LEARNERS)
def test_every_learner_ranks_and_regresses_on_the_rank_target(rows, name, kind) -> None:
    train, test = rows.iloc[:-300], rows.tail(300)
    params = LearnerParams(learner=name, kind=kind, **FAST)
    model = make_learner(params).fit(train, train["label"], train["end_date"])
    score = model.rank_score(test)
    assert np.isfinite(score).all() and np.unique(score).size > 10
    np.testing.assert_allclose(model.contributions(test).sum(axis=1), score, atol=1e-5)


def test_the_linear_terms_are_its_weights_times_the_centred_values(fitted) -> None:
    model = fitted[0]["linear"]
    test = fitted[1]
    values = model.processed_values(test).to_numpy(dtype=float)
    expected = np.where(np.isnan(values), 0.0, (values - model.means_) * model.weights_)
    terms = model.contributions(test)
    np.testing.assert_allclose(terms.drop(columns="bias").to_numpy(), expected, atol=1e-12)
    assert (terms["bias"] == model.intercept_).all()


def _bundle(model, root: Path, run_id: str) -> dict[str, str]:
    index = pd.MultiIndex.from_tuples([("A", pd.Timestamp("2020-01-02"))], names=["ticker", "date"])
    frame = pd.DataFrame({"p": [0.5]}, index=index)
    return write_bundle(model, root, run_id, {}, predictions=frame, baseline=frame)


@pytest.mark.parametrize("name", TABULAR_LEARNERS)
def test_each_learner_round_trips_through_a_bundle_with_identical_forecasts(
    fitted, tmp_path, name
) -> None:
    model, test = fitted[0][name], fitted[1]
    hashes = _bundle(model, tmp_path, "run")
    assert model.MODEL_FILE in hashes and manifest_hashes(tmp_path / "run") == hashes
    loaded, manifest = read_bundle(tmp_path / "run", hashes)
    assert type(loaded) is type(model) and manifest["params"]["learner"] == name
    again, before = loaded.explained_predictions(test), model.explained_predictions(test)
    np.testing.assert_array_equal(again.score, before.score)
    np.testing.assert_array_equal(again.probability, before.probability)
    pd.testing.assert_frame_equal(again.contributions, before.contributions)
    np.testing.assert_array_equal(loaded.predict_proba(test), model.predict_proba(test))


def test_a_manifest_without_a_learner_is_an_xgboost_bundle(fitted, tmp_path) -> None:
    model, test = fitted[0]["xgboost"], fitted[1]
    _bundle(model, tmp_path, "old")
    folder = tmp_path / "old"
    body = json.loads((folder / "manifest.json").read_text())
    del body["params"]["learner"]
    (folder / "manifest.json").write_bytes(artifacts.manifest_document(body))
    loaded, _ = read_bundle(folder, manifest_hashes(folder))
    assert loaded.params.learner == "xgboost"
    np.testing.assert_array_equal(loaded.rank_score(test), model.rank_score(test))


def _crafted(model, root: Path, run_id: str, craft) -> Path:
    """A bundle of ``model`` whose model file ``craft`` rewrote, its hashes made right."""
    _bundle(model, root, run_id)
    folder = root / run_id
    path = folder / model.MODEL_FILE
    path.write_bytes(craft(path.read_bytes()))
    body = json.loads((folder / "manifest.json").read_text())
    body["files"][model.MODEL_FILE] = artifacts.sha256_file(path)
    (folder / "manifest.json").write_bytes(artifacts.manifest_document(body))
    return folder


def _json(change):
    def craft(data: bytes) -> bytes:
        body = json.loads(data)
        change(body)
        return json.dumps(body).encode()

    return craft


@pytest.mark.parametrize(
    ("craft", "message"),
    [
        (_json(lambda b: b.update(weights=b["weights"][:-1])), r"weights has shape"),
        (_json(lambda b: b.update(columns=b["columns"][::-1])), "not the selector's"),
        (_json(lambda b: b.update(intercept="1")), "intercept must be"),
        (lambda data: data.replace(b'"intercept": ', b'"intercept": NaN, "x": '), "NaN"),
        (lambda data: data + b" " * (1 << 20), "larger than"),
    ],
)
def test_a_crafted_linear_model_is_refused_naming_the_file(fitted, tmp_path, craft, message):
    folder = _crafted(fitted[0]["linear"], tmp_path, "crafted", craft)
    with pytest.raises(ArtifactError, match=f"linear.json in .*{message}"):
        read_bundle(folder, manifest_hashes(folder))


def _widths(manifest_change):
    """Craft the manifest's record of the network instead of its file."""

    def craft(folder: Path) -> None:
        body = json.loads((folder / "manifest.json").read_text())
        manifest_change(body)
        (folder / "manifest.json").write_bytes(artifacts.manifest_document(body))

    return craft


@pytest.mark.parametrize(
    ("craft", "manifest", "message"),
    [
        (
            _json(lambda b: b["layers"][0].update(weights=b["layers"][0]["weights"][1:])),
            None,
            r"network layer 0.weights has shape",
        ),
        (_json(lambda b: b["layers"].pop()), None, "has 2 layers, expected 3"),
        (_json(lambda b: b["layers"][1].update(bias="0")), None, "bias must be list"),
        (_json(lambda b: b.update(columns=b["columns"][::-1])), None, "not the selector's"),
        (lambda data: data.replace(b'"bias": [', b'"bias": [NaN, ', 1), None, "NaN"),
        (lambda data: data + b" " * (8 << 20), None, "larger than"),
        (lambda data: data, _widths(lambda m: m.update(widths=[3, 10**6, 1])), "layer widths"),
        (lambda data: data, _widths(lambda m: m.update(best_epoch=10**9)), "epochs and"),
    ],
)
def test_a_crafted_network_is_refused_naming_the_file(fitted, tmp_path, craft, manifest, message):
    folder = _crafted(fitted[0]["mlp"], tmp_path, "crafted", craft)
    if manifest is not None:
        manifest(folder)
    with pytest.raises(ArtifactError, match=f"mlp.json in .*{message}"):
        read_bundle(folder, manifest_hashes(folder))


def test_the_networks_terms_give_a_column_at_its_mean_nothing(fitted) -> None:
    """DeepLIFT's terms: a row at the reference (every column at its mean) has no term but
    the bias, the network's output there; moving one column moves that column's term only,
    by the whole change of the score."""
    model = fitted[0]["mlp"]
    columns = list(model.selector_.columns_)
    reference = pd.DataFrame([model.means_], columns=columns)
    moved = reference.copy()
    moved.iloc[0, 1] += 2.5
    prepared = [model._prepare(frame) for frame in (reference, moved)]
    at_mean, one_moved = (model._terms(p)[0] for p in prepared)
    scores = [model._raw_score(p)[0] for p in prepared]
    np.testing.assert_array_equal(at_mean[:-1], 0.0)
    assert at_mean[-1] == pytest.approx(scores[0], abs=1e-12)
    assert np.count_nonzero(one_moved[:-1]) == 1
    assert one_moved[1] == pytest.approx(scores[1] - scores[0], abs=1e-12)


def _tree_line(key: str, value: str):
    def craft(data: bytes) -> bytes:
        lines = data.decode().split("\n")
        first = next(i for i, line in enumerate(lines) if line.startswith(f"{key}="))
        lines[first] = f"{key}={value}"
        return "\n".join(lines).encode()

    return craft


@pytest.mark.parametrize(
    ("craft", "message"),
    [
        (_tree_line("split_feature", "99 0 1"), "tree 0 splits on a feature index out of"),
        (_tree_line("left_child", "0 0 0"), "children do not form one tree"),
        (_tree_line("num_cat", "1"), "categorical splits"),
        (_tree_line("leaf_value", "1 2 nan 4"), "not finite"),
        (_tree_line("num_leaves", "100000000"), "leaves"),
        (_tree_line("version", "v3"), "version is not v4"),
        (_tree_line("feature_names", "a b c"), "feature names are not"),
        (lambda data: data.replace(b"Tree=1\n", b"Tree=7\n"), "Tree=1 belongs"),
        (lambda data: data.replace(b"end of trees", b"end of tree"), "not a LightGBM model"),
        (lambda data: b"\xff" + data, "not ASCII"),
        (lambda data: data.replace(b"\nTree=0\n", b"\nTree=0\nsurprise=1\n"), "unknown"),
    ],
)
def test_a_crafted_lightgbm_model_is_refused_naming_the_file(fitted, tmp_path, craft, message):
    model = fitted[0]["lightgbm"]
    folder = _crafted(model, tmp_path, "crafted", craft)
    with pytest.raises(ArtifactError, match=f"lightgbm.txt in .*{message}"):
        read_bundle(folder, manifest_hashes(folder))


def test_a_lightgbm_model_with_more_trees_than_recorded_is_refused(fitted) -> None:
    model = fitted[0]["lightgbm"]
    data, columns = model.model_bytes(), model.selector_.columns_
    trees = model.booster_.num_trees()
    assert read_lightgbm_model(data, columns, trees).num_trees() == trees
    with pytest.raises(ValueError, match=f"holds {trees} trees, but the manifest records 1"):
        read_lightgbm_model(data, columns, 1)


def test_a_lightgbm_model_of_single_leaf_trees_is_read() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 3)), rng.integers(0, 2, 300)
    params = {"objective": "binary", "verbosity": -1, "min_sum_hessian_in_leaf": 1e3}
    booster = lgb.train(params, lgb.Dataset(X, y, feature_name=["a", "b", "c"]), 2)
    text = booster.model_to_string().encode()
    assert b"num_leaves=1\n" in text
    again = read_lightgbm_model(text, ["a", "b", "c"], booster.num_trees())
    expected = booster.predict(X, raw_score=True)
    np.testing.assert_array_equal(again.predict(X, raw_score=True), expected)


def test_an_imported_crafted_bundle_leaves_the_store_unchanged(fitted, seeded_db, tmp_path):
    model = fitted[0]["linear"]
    folder = _crafted(model, tmp_path, "crafted", _json(lambda b: b.update(means=[1e400])))
    with unchanged(seeded_db), pytest.raises(ArtifactError, match="linear.json in"):
        workflows.import_bundle(seeded_db, folder)


# --- a planted interaction: y depends on a * b only --------------------------------------


def interaction_panel(n_tickers: int = 40, n_dates: int = 520, seed: int = 3) -> pd.DataFrame:
    """Two features ``a`` and ``b`` (the first two feature columns) and three noise columns,
    iid normal; the 5-session return is 0.02 a b plus noise of the same size, so neither
    feature alone says anything about it (zero correlation with each)."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2019-01-01", periods=n_dates)
    index = pd.MultiIndex.from_product(
        [dates, [f"T{k:02d}" for k in range(n_tickers)]], names=["date", "ticker"]
    ).swaplevel()
    names = feature_columns(FAMILY_NAMES)[:5]
    values = rng.normal(size=(len(index), len(names)))
    data = pd.DataFrame(values, index=index, columns=names)
    ret = 0.02 * values[:, 0] * values[:, 1] + 0.02 * rng.normal(size=len(index))
    by_date = pd.Series(ret, index=index).groupby(level="date")
    return data.assign(
        ret=ret,
        excess=ret - by_date.transform("mean").to_numpy(),
        label=(ret > by_date.transform("median").to_numpy()).astype(float),
        target=by_date.rank(pct=True).to_numpy() - 0.5,
        end_date=index.get_level_values("date") + pd.Timedelta(days=7),
    ).sort_index(level=["date", "ticker"])


@pytest.fixture(scope="module")
def interaction():
    data = interaction_panel()
    splitter = PurgedWalkForward(train_months=12, test_months=3)
    out = {}
    for name in TABULAR_LEARNERS:
        params = LearnerParams(learner=name, n_estimators=200, early_stopping_rounds=30)
        result = walk_forward(data, splitter, params)
        out[name] = evaluate(result, n_boot=200)["rank_ic"]["mean"]
    return out


def test_the_trees_and_the_network_recover_a_planted_interaction_and_the_linear_one_does_not(
    interaction,
) -> None:
    for name in ("xgboost", "lightgbm", "mlp"):
        assert interaction[name].low > 0.05, (name, interaction[name])
    assert interaction["linear"].contains(0.0), interaction["linear"]
