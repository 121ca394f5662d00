"""The ablation finds the planted family and nothing on noise; Dask gives the same answer."""

from __future__ import annotations

import dataclasses
import sys

import pandas as pd
import pytest

from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.features.panel import to_wide
from engine.features.registry import DEFAULT_FAMILIES, family_columns, feature_columns
from engine.modeling.evaluation import make_dataset
from engine.modeling.labels import LabelParams, compute_labels
from engine.studies.ablation import VARIANT_NAMES, VARIANTS, AblationConfig, run_ablation

# The synthetic panels have no news or filings, so "+ sentiment" (all NaN) is left out of
# the slow studies; test_the_sentiment_family_is_one_step_of_the_ablation covers it.
CONFIG = AblationConfig(
    tuple(n for n in VARIANT_NAMES if n != "+ sentiment"),
    train_months=12,
    test_months=3,
    use_dask=False,
    n_boot=100,
)


def study(kind: str, config: AblationConfig = CONFIG):
    panel = make_panel(40, 800, kind=kind, seed=5)
    data = make_dataset(compute_features(panel.prices), compute_labels(panel.prices, LabelParams()))
    return run_ablation(data, to_wide(panel.prices), config)


@pytest.fixture(scope="module")
def planted():
    return study("planted")


def test_the_family_with_the_planted_signal_shows_a_gain(planted) -> None:
    steps = planted.steps.set_index("step")
    research = steps.loc["+ regime -> + research families"]  # CLV lives in microstructure
    assert (
        research["delta_auc"] > 0 and research["auc_low"] > 0 and research["auc_verdict"] == "gain"
    )
    assert research["sharpe_low"] > 0
    others = steps.drop(index="+ regime -> + research families")
    assert (others["auc_verdict"] != "gain").all()
    table = planted.table.set_index("variant")
    assert table.loc["+ research families", "auc"] > table.loc["patterns only", "auc"] + 0.03
    assert list(table.index) == list(CONFIG.variants)


def test_on_noise_no_step_shows_a_gain() -> None:
    steps = study("null").steps
    assert (steps["auc_verdict"] != "gain").all(), steps
    assert (steps["sharpe_verdict"] != "gain").all(), steps


def test_dask_gives_the_same_table(planted, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "__main__", type(sys)("__main__"))  # AppTest leaks app.py
    config = AblationConfig(
        variants=("patterns only", "+ regime", "+ research families"),
        train_months=12,
        test_months=3,
        use_dask=True,
        n_boot=100,
    )
    parallel = study("planted", config).table.set_index("variant")
    serial = planted.table.set_index("variant").loc[list(parallel.index)]
    pd.testing.assert_frame_equal(parallel, serial)


def test_unknown_variants_are_named() -> None:
    with pytest.raises(ValueError, match="unknown ablation variants"):
        AblationConfig(variants=("everything",)).chosen()


def test_the_sentiment_family_is_one_step_of_the_ablation() -> None:
    """ "+ sentiment" switches the family on (calibrated and sized, like the step before
    it); the variants before it have it off; the last uses every family, as a default
    model does."""
    chain = {v.name: v for v in VARIANTS}
    on, before = chain["+ sentiment"], chain["+ position sizing"]
    assert VARIANT_NAMES[-2:] == ("+ position sizing", "+ sentiment")
    assert set(on.families) - set(before.families) == {"sentiment"}
    assert (on.calibrated, on.sized) == (before.calibrated, before.sized)
    assert all("sentiment" not in v.families for v in VARIANTS[:-1])
    assert set(on.families) == set(DEFAULT_FAMILIES)
    sentiment = {c.name for c in family_columns("sentiment")}
    assert sentiment <= set(feature_columns(on.families))  # what the learner reads
    assert not sentiment & set(feature_columns(before.families))


def test_each_learner_runs_the_stack_and_finds_the_planted_family(planted) -> None:
    """The learner axis: the linear model's stack beside XGBoost's, on the same folds. Each
    learner's rows are what a study of that learner alone gives; the planted family's gain
    shows for both, and every learner's variant is a trial of its own."""
    variants = ("patterns only", "+ research families")
    config = dataclasses.replace(CONFIG, variants=variants, learners=("xgboost", "linear"))
    both = study("planted", config)
    table = both.table.set_index(["learner", "variant"])
    assert list(table.index) == [(lr, v) for lr in ("xgboost", "linear") for v in variants]
    alone = planted.table.set_index("variant").loc[list(variants)].drop(columns="learner")
    pd.testing.assert_frame_equal(table.loc["xgboost"], alone)
    steps = both.steps.set_index("learner")
    assert list(steps["step"]) == ["patterns only -> + research families"] * 2
    assert (steps["auc_verdict"] == "gain").all() and (steps["auc_low"] > 0).all()
    assert set(both.returns) == {f"{lr}: {v}" for lr in ("xgboost", "linear") for v in variants}


@pytest.mark.parametrize("learners", [(), ("xgboost", "xgboost"), ("forest",)])
def test_a_bad_learner_axis_is_refused(learners) -> None:
    with pytest.raises(ValueError, match="learner"):
        AblationConfig(learners=learners)
