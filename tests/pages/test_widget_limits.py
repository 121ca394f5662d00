"""The forms offer the ranges the engine accepts: a widget's bounds are its setting's
``Limit`` (engine/modeling/param_limits.py), so a form can neither refuse what the engine
takes (a run trained elsewhere with an 18-month test window) nor offer what it refuses."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engine import workflows

LABEL, TRAINING, TUNING = workflows.LABEL_LIMITS, workflows.TRAINING_LIMITS, workflows.TUNING_LIMITS
CONSTRUCTION, COSTS = workflows.CONSTRUCTION_LIMITS, workflows.COST_LIMITS
SIZING = workflows.SIZING_LIMITS
# page -> widget key -> (the engine's limit for it, the widget's step, the form's default)
FORMS = {
    "training": {
        "training.horizon": (LABEL["horizon"], None, workflows.LabelParams.horizon),
        "training.train": (TRAINING["train_months"], None, workflows.TrainConfig.train_months),
        "training.test": (TRAINING["test_months"], None, workflows.TrainConfig.test_months),
    },
    "ablation": {
        "ablation.train": (TRAINING["train_months"], None, workflows.TrainConfig.train_months),
        "ablation.test": (TRAINING["test_months"], None, workflows.TrainConfig.test_months),
    },
    "zoo": {
        "zoo.train": (TRAINING["train_months"], None, workflows.TrainConfig.train_months),
        "zoo.test": (TRAINING["test_months"], None, workflows.TrainConfig.test_months),
    },
    "backtest": {
        "backtest.k": (CONSTRUCTION["k"], None, None),
        "backtest.drop": (CONSTRUCTION["max_replacements"], None, None),
        "backtest.q": (CONSTRUCTION["quantile"], 0.05, None),
        "backtest.lookback": (CONSTRUCTION["lookback"], None, None),
        "backtest.rebalance": (CONSTRUCTION["rebalance"], None, None),
        "backtest.tolerance": (CONSTRUCTION["neutral_tolerance"], 0.01, None),
        "backtest.per_share": (COSTS["commission_per_share"], None, None),
        "backtest.minimum": (COSTS["commission_min"], None, None),
        "backtest.spread": (COSTS["half_spread_bps"], None, None),
        "backtest.impact": (COSTS["impact_coefficient"], None, None),
        "backtest.kelly": (SIZING["kelly_fraction"], 0.05, None),
        "backtest.cap": (SIZING["max_weight"], 0.01, None),
    },
}


def _open(app: AppTest, page: str) -> AppTest:
    app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_every_forms_bounds_are_the_engines_limits(trained_app) -> None:
    """Each widget's (min, max) is its limit's range (an open low end one step up), and the
    form starts inside it (at the dataclass's default where the page has no stored value)."""
    app, _ = trained_app
    for page, widgets in FORMS.items():
        at = _open(app, page)
        for key, (limit, step, default) in widgets.items():
            widget = at.number_input(key=key)
            assert (widget.min, widget.max) == limit.bounds(step), key
            assert limit.problem(key, widget.value) is None, key
            assert default is None or widget.value == default, key


def test_an_open_low_end_needs_the_widgets_step() -> None:
    quantile = CONSTRUCTION["quantile"]
    assert quantile.bounds(0.05) == (0.05, 0.5)
    assert quantile.problem("quantile", 0.0) is not None  # what a bound of 0 would offer
    with pytest.raises(ValueError, match="step"):
        quantile.bounds()
    assert TRAINING["train_months"].bounds() == (1, 600)  # whole: integers for the widget


def test_the_trials_input_reaches_the_tunings_limit_with_zero_for_none(app: AppTest) -> None:
    trials = _open(app, "training").number_input(key="training.trials")
    assert (trials.min, trials.max, trials.value) == (0, TUNING["n_trials"].high, 0)
    assert TUNING["n_trials"].low == 1  # 0 stands for no study, not a study of 0 trials


def test_the_training_form_offers_every_learner_with_the_engines_default(app: AppTest) -> None:
    box = _open(app, "training").selectbox(key="training.learner")
    names = [workflows.LEARNER_NAMES[name] for name in workflows.trainable_learners()]
    assert list(box.options) == names
    assert box.value == workflows.LearnerParams.learner == "xgboost"


def test_the_training_form_reports_the_labels_own_check(app: AppTest, seeded_db) -> None:
    """A triple barrier's horizon is checked by LabelParams alone; the form shows its words."""
    at = _open(app, "training")
    at.selectbox(key="training.kind").set_value("market_timing")
    at.selectbox(key="training.label").set_value("triple_barrier")
    at.number_input(key="training.horizon").set_value(20)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with pytest.raises(ValueError) as refused:
        workflows.LabelParams(kind="triple_barrier", horizon=20)
    assert [e.value for e in at.error] == [str(refused.value)]
    assert workflows.training_status(seeded_db) is None  # nothing launched


def test_the_training_form_exports_a_package_instead_of_training(app: AppTest, seeded_db) -> None:
    at = _open(app, "training")
    at.date_input(key="training.start").set_value(dt.date(2016, 1, 4))
    at.date_input(key="training.as_of").set_value(dt.date(2018, 6, 29))
    next(b for b in at.button if b.label == "Export a training package").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    as_of, package = at.session_state["training.package"]
    body, prices = workflows.read_training_package(package)
    assert as_of == "20180629" and body["as_of"] == "2018-06-29"
    assert prices["date"].max() == pd.Timestamp("2018-06-29")
    assert workflows.TrainConfig.from_dict(body["config"]).start == pd.Timestamp("2016-01-04")
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels and labels[0].startswith("Download the training package")
    assert workflows.training_status(seeded_db) is None  # nothing launched
