"""The model zoo: every learner on the same folds finds a planted signal, none on noise,
and every figure comes with its interval over folds and its reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.features.panel import to_wide
from engine.modeling.evaluation import make_dataset
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.learners import TABULAR_LEARNERS, LearnerParams
from engine.studies.zoo import ENSEMBLES, QLIB_REFERENCES, ZooConfig, run_zoo

CONFIG = ZooConfig(TABULAR_LEARNERS, train_months=12, test_months=2, n_boot=50)
INTERVALS = ("ic", "rank_ic", "spread", "excess")


def zoo(kind: str, **options):
    panel = make_panel(30, 700, kind=kind, seed=5, **options)
    data = make_dataset(compute_features(panel.prices), compute_labels(panel.prices, LabelParams()))
    return run_zoo(data, to_wide(panel.prices), CONFIG)


@pytest.fixture(scope="module")
def planted():
    return zoo("planted", beta=0.2)


@pytest.fixture(scope="module")
def null():
    return zoo("null", market_vol=0.01)  # a common market, no stock signal


def test_every_learner_and_ensemble_has_a_row_with_its_intervals_and_reference(planted) -> None:
    table = planted.table.set_index("model")
    assert list(table.index) == [*TABULAR_LEARNERS, *ENSEMBLES]
    for name in INTERVALS:
        assert (table[f"{name}_low"] <= table[name]).all() and (
            table[name] <= table[f"{name}_high"]
        ).all()
    assert (table.loc[list(TABULAR_LEARNERS), "seconds"] > 0).all()
    assert (table.loc[list(ENSEMBLES), "seconds"] == 0).all()  # built from the members' scores
    for learner in TABULAR_LEARNERS:
        assert (
            table.loc[learner, "reference_ic"],
            table.loc[learner, "reference_ir"],
        ) == QLIB_REFERENCES[learner]
    assert table.loc[list(ENSEMBLES), "reference_ic"].isna().all()
    assert table["deflated_sharpe"].between(0, 1).all()
    # the members walked the same folds; the stacked layer skips the first (nothing earlier)
    assert (table.loc[list(TABULAR_LEARNERS), "folds"] == table.loc["xgboost", "folds"]).all()
    assert table.loc["stacked", "folds"] == table.loc["xgboost", "folds"] - 1


def test_every_learner_finds_the_planted_signal(planted) -> None:
    table = planted.table.set_index("model")
    assert (table["rank_ic_low"] > 0).all(), table["rank_ic_low"]
    assert (table["spread_low"] > 0).all(), table["spread_low"]
    pairs = planted.diversity.dropna(subset=["rank_correlation"])
    assert len(pairs) == math.comb(len(TABULAR_LEARNERS), 2)  # every pair of learners
    assert pairs["rank_correlation"].between(-1, 1).all()
    gains = planted.diversity.dropna(subset=["gain"])
    assert set(gains["first"]) == set(ENSEMBLES) and set(gains["second"]) <= set(TABULAR_LEARNERS)


def test_on_noise_no_figure_shows_skill_and_the_best_is_deflated(null) -> None:
    table = null.table.set_index("model")
    for name in ("ic", "rank_ic", "spread"):
        assert (table[f"{name}_low"] < 0).all() and (table[f"{name}_high"] > 0).all(), table[name]
    # after costs a ranking without skill earns less than the universe, never more
    assert (table["excess_low"] < 0).all()
    assert table["deflated_sharpe"].max() < 0.95


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learners": ("xgboost", "forest")}, "unknown learners ['forest']"),
        ({"learners": ("linear",)}, "an ensemble needs at least two learners"),
        ({"learners": ("linear", "linear"), "ensembles": False}, "at most once"),
        ({"learner": LearnerParams(kind="market_timing")}, "not market timing"),
    ],
)
def test_a_bad_zoo_is_refused_naming_what_is_wrong(change: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        ZooConfig(**change)


def test_the_returns_are_daily_and_start_after_the_first_forecast(planted) -> None:
    for name, returns in planted.returns.items():
        first = planted.predictions["xgboost"].index.get_level_values("date").min()
        assert isinstance(returns.index, pd.DatetimeIndex) and returns.index.min() > first, name
        assert np.isfinite(returns.to_numpy()).all()
