"""DoubleEnsemble: sample reweighting, feature selection, and the fitted ensemble."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from engine.modeling.double_ensemble import (
    DoubleEnsemble,
    reweight_samples,
    select_features,
    staged_losses,
)

BOOSTER = HistGradientBoostingRegressor(max_iter=30, early_stopping=False, random_state=0)


def fit_booster(X: pd.DataFrame, y: np.ndarray) -> HistGradientBoostingRegressor:
    """The base model alone, on one thread (as the ensemble runs it)."""
    with threadpool_limits(1, user_api="openmp"):
        return clone(BOOSTER).fit(X, y)


def planted(rows: int = 1500, features: int = 8, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Features f0..f7; the target depends on f0 and f1 only."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, features)), columns=[f"f{i}" for i in range(features)])
    y = X["f0"] + 0.5 * X["f1"] ** 2 + rng.normal(scale=0.5, size=rows)
    return X, y.to_numpy()


def test_staged_losses_follow_the_boosting_iterations() -> None:
    X, y = planted(rows=400)
    model = fit_booster(X, y)
    with threadpool_limits(1, user_api="openmp"):
        curve = staged_losses(model, X, y)
        last = model.predict(X)
    assert curve.shape == (400, 30)
    np.testing.assert_allclose(curve[:, -1], (last - y) ** 2)
    assert curve[:, -1].mean() < curve[:, 0].mean()  # training loss falls as trees are added
    with pytest.raises(ValueError, match="per-iteration predictions"):
        staged_losses(Ridge().fit(X, y), X, y)


def test_sample_reweighting_weights_rows_the_ensemble_gets_wrong_more() -> None:
    rows = 1000
    rng = np.random.default_rng(1)
    loss = rng.exponential(size=rows)
    curve = np.tile(rng.uniform(size=(rows, 1)), (1, 20))  # every row's curve is flat
    weights = reweight_samples(curve, loss, 1, bins=10, decay=0.5)
    assert weights.shape == (rows,)
    assert len(np.unique(weights)) <= 10  # one weight per bin
    order = np.argsort(loss)
    assert weights[order[-100:]].mean() > weights[order[:100]].mean()
    # a later sub-model's bins are weighted more evenly: decay ** k shrinks the spread
    later = reweight_samples(curve, loss, 3, bins=10, decay=0.5)
    assert later.max() / later.min() < weights.max() / weights.min()


def test_feature_selection_keeps_the_largest_share_of_the_most_important_bin() -> None:
    importance = pd.Series(
        [10.0, 9.5, 0.1, 0.0, -0.1, 0.05, 0.02, -0.05, 0.03, 0.01],
        index=[f"f{i}" for i in range(10)],
    )
    kept = select_features(importance, (0.8, 0.7, 0.6, 0.5, 0.4), np.random.default_rng(0))
    assert kept[:2] == ["f0", "f1"]  # ceil(0.8 * 2): both of the top bin
    # the other eight share the next occupied bin (0.7 of it, rounded up: 6)
    assert len(kept) == 2 + 6
    assert kept == [f for f in importance.index if f in kept]


@pytest.mark.parametrize("booster", [BOOSTER, None], ids=["histogram-gbm", "lightgbm-default"])
def test_the_double_ensemble_keeps_the_planted_features_and_predicts_out_of_sample(
    booster,
) -> None:
    X, y = planted()
    model = DoubleEnsemble(booster, n_models=4).fit(X.iloc[:1000], y[:1000])
    assert len(model.models_) == len(model.features_) == len(model.sample_weights_) == 4
    assert model.features_[0] == list(X.columns)
    for features in model.features_[1:]:
        # f0 is alone in the top importance bin, which keeps ceil(share * 1) = 1 member;
        # f1 shares a lower bin with noise features, so the draw may drop it (as in Qlib)
        assert "f0" in features and set(features) < set(X.columns)
    assert not np.allclose(model.sample_weights_[1], 1.0)
    held_out = model.predict(X.iloc[1000:])
    assert np.corrcoef(held_out, y[1000:])[0, 1] > 0.7
    assert model.n_features_in_ == 8


def test_without_its_modules_the_ensemble_is_its_base_model() -> None:
    X, y = planted(rows=600)
    plain = DoubleEnsemble(
        BOOSTER, n_models=3, sample_reweighting=False, feature_selection=False
    ).fit(X, y)
    assert all(f == list(X.columns) for f in plain.features_)
    assert all(np.allclose(w, 1.0) for w in plain.sample_weights_)
    alone = fit_booster(X, y)
    with threadpool_limits(1, user_api="openmp"):
        np.testing.assert_allclose(plain.predict(X), alone.predict(X))


def test_base_weights_multiply_and_settings_are_checked() -> None:
    X, y = planted(rows=400)
    base = np.linspace(0.5, 1.5, len(y))
    model = DoubleEnsemble(BOOSTER, n_models=2, feature_selection=False).fit(X, y, base)
    np.testing.assert_allclose(model.sample_weights_[0], base)
    ratio = model.sample_weights_[1] / base
    assert len(np.unique(ratio.round(12))) <= 10
    with pytest.raises(ValueError, match="sub_weights needs 2"):
        DoubleEnsemble(BOOSTER, n_models=2, sub_weights=(1.0,)).fit(X, y)
    with pytest.raises(ValueError, match="n_models"):
        DoubleEnsemble(BOOSTER, n_models=0).fit(X, y)


@parametrize_with_checks(
    [DoubleEnsemble(clone(BOOSTER).set_params(max_iter=10), n_models=2)],
    # the SR module ranks and bins rows, so a row repeated twice is not a row weighted 2
    expected_failed_checks=lambda _: {
        "check_sample_weight_equivalence_on_dense_data": "SR ranks rows, not weights"
    },
)
def test_scikit_learns_estimator_checks(estimator, check) -> None:
    check(estimator)
