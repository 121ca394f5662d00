"""The forms offer the ranges the engine accepts: a widget's bounds are its setting's
``Limit`` (engine/modeling/param_limits.py), so a form can neither refuse what the engine
takes (a run trained elsewhere with an 18-month test window) nor offer what it refuses."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from engine import workflows

LABEL, TRAINING, TUNING = workflows.LABEL_LIMITS, workflows.TRAINING_LIMITS, workflows.TUNING_LIMITS
# page -> widget key -> (the engine's range for it, the form's default)
FORMS = {
    "training": {
        "training.horizon": (LABEL["horizon"], workflows.LabelParams.horizon),
        "training.train": (TRAINING["train_months"], workflows.TrainConfig.train_months),
        "training.test": (TRAINING["test_months"], workflows.TrainConfig.test_months),
    },
    "ablation": {
        "ablation.train": (TRAINING["train_months"], workflows.TrainConfig.train_months),
        "ablation.test": (TRAINING["test_months"], workflows.TrainConfig.test_months),
    },
}


def _open(app: AppTest, page: str) -> AppTest:
    app.switch_page(f"views/{page}.py").run()
    assert not app.exception, [e.value for e in app.exception]
    return app


@pytest.mark.parametrize("page", sorted(FORMS))
def test_a_forms_bounds_and_defaults_are_the_engines(app: AppTest, page: str) -> None:
    at = _open(app, page)
    for key, (limit, default) in FORMS[page].items():
        widget = at.number_input(key=key)
        assert (widget.min, widget.max) == (limit.low, limit.high), key
        assert widget.value == default, key


def test_the_trials_input_reaches_the_tunings_limit_with_zero_for_none(app: AppTest) -> None:
    trials = _open(app, "training").number_input(key="training.trials")
    assert (trials.min, trials.max, trials.value) == (0, TUNING["n_trials"].high, 0)
    assert TUNING["n_trials"].low == 1  # 0 stands for no study, not a study of 0 trials


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
