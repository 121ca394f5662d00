"""Training: launch models/train.py as a job, follow it, and manage the run registry."""

import datetime as dt

import pandas as pd
import streamlit as st

from engine import workflows
from engine.workflows import FAMILY_NAMES, LabelParams, LearnerParams, TrainConfig, label_kind_for
from views.components.membership import training_window, universe_caption
from views.components.runs import render_outcome, render_runs
from views.components.settings import alert_settings
from views.components.state import global_params
from views.components.training_job import (
    follow_training,
    launch_or_export,
    render_bundle_import,
    render_package,
)

params = global_params()
db = params.db_path
st.title("Training")
job = workflows.training_status(params.db_path, alert_settings())


# The form's values: the last submitted (Streamlit forgets them while the job view replaces
# the form), else values another page prefilled, else the defaults.
window = training_window(params)
learner_keys = ("learner", "kind", "device", "calibration")  # LearnerParams' fields
defaults = {
    "training.start": window[0],
    "training.as_of": window[1],
    "training.horizon": LabelParams.horizon,  # the dataclasses' defaults (class attributes)
    "training.train": TrainConfig.train_months,
    "training.test": TrainConfig.test_months,
    "training.families": list(LearnerParams.families),
    **{f"training.{name}": getattr(LearnerParams, name) for name in learner_keys},
    "training.trials": 0,
}
limits = {**workflows.LABEL_LIMITS, **workflows.TRAINING_LIMITS}  # the engine's: one range
bounds = {name: limits[name].bounds() for name in ("horizon", "train_months", "test_months")}
for key, value in {**defaults, **st.session_state.get("training.submitted", {})}.items():
    st.session_state.setdefault(key, value)

if job is not None:
    follow_training(params.db_path)
else:
    with st.form("training.form"):
        first, last = training_window(params)
        if params.watchlist and first < last:
            shown = workflows.load_universe(db, params.watchlist, first, last)
            st.write(universe_caption(shown, params.watchlist))
        c1, c2, c3, c4 = st.columns(4)
        start = c1.date_input("First date", min_value=dt.date(1990, 1, 1), key="training.start")
        as_of = c2.date_input("Train as of", min_value=dt.date(1990, 1, 1), key="training.as_of")
        names = workflows.LEARNER_NAMES
        c3.selectbox(
            "Learner",
            workflows.trainable_learners(),
            format_func=names.get,
            key="training.learner",
            help="GRU and Transformer appear once torch is installed (make deep)",
        )
        c4.selectbox("Device", workflows.DEVICES, key="training.device")
        c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
        kind = c1.selectbox(
            "Model",
            workflows.MODEL_KINDS,
            format_func=workflows.KIND_NAMES.get,
            key="training.kind",
        )
        absolute = c2.selectbox(
            "Market-timing label",
            workflows.ABSOLUTE_KINDS,
            key="training.label",
            help="Only the market-timing model uses it; the cross-sectional models learn "
            "relative labels (beats the universe median, rank of the return).",
        )
        horizon = c3.number_input("Horizon (sessions)", *bounds["horizon"], key="training.horizon")
        c4.selectbox("Calibration", workflows.CALIBRATION_METHODS, key="training.calibration")
        c1, c2, c3 = st.columns(3)
        months = bounds["train_months"], bounds["test_months"]
        train_months = c1.number_input("Train window (months)", *months[0], key="training.train")
        test_months = c2.number_input("Test window (months)", *months[1], key="training.test")
        trials = c3.number_input(
            "Tuning trials (0 = none)",
            0,  # none; a study has TUNING_LIMITS' minimum or more
            workflows.TUNING_LIMITS["n_trials"].bounds()[1],
            key="training.trials",
            help="An Optuna study of the learner's settings first; every trial counts "
            "toward the Deflated Sharpe.",
        )
        families = st.multiselect(
            "Families",
            FAMILY_NAMES,
            key="training.families",
            help="GRU and Transformer read the price path (path) alone, whatever is chosen",
        )
        c1, c2 = st.columns(2)
        submitted = c1.form_submit_button("Start training", type="primary")
        export = c2.form_submit_button(
            "Export a training package", help="For Colab: the settings, prices and code"
        )
    if submitted or export:
        keys = [*defaults, "training.label"]
        label = absolute if kind == "market_timing" else label_kind_for(kind)
        choices = {name: st.session_state[f"training.{name}"] for name in learner_keys}
        st.session_state["training.submitted"] = {k: st.session_state[k] for k in keys}
        if start >= as_of:
            st.error("The first date must come before the as-of date.")
        elif (
            not families
            or not params.watchlist
            or not (universe := workflows.load_universe(db, params.watchlist, start, as_of)).tickers
        ):
            st.error("Choose a watchlist with tickers and at least one family.")
        else:
            try:  # the settings' own checks (a triple barrier's horizon) speak for the form
                config = TrainConfig(
                    tickers=universe.tickers,
                    membership=universe.records,
                    start=pd.Timestamp(start),
                    as_of=pd.Timestamp(as_of),
                    label=LabelParams(kind=label, horizon=horizon),
                    learner=LearnerParams(
                        families=workflows.learner_families(choices["learner"], tuple(families)),
                        **choices,
                    ),
                    train_months=train_months,
                    test_months=test_months,
                )
            except ValueError as exc:
                st.error(str(exc))
            else:
                launch_or_export(db, config, export, trials)
    render_package()

launched = st.session_state.get("training.launched")
if launched and job is None:
    render_outcome(params.db_path, launched)
    if tracked := workflows.load_tracking(params.db_path, launched):  # MLflow, when configured
        st.caption(tracked.describe())

st.subheader("Registered runs")
render_runs(params.db_path, launched)
render_bundle_import(params.db_path)
