"""Model runs on the page: the run picker of the model pages, and the Training page's
running job and run registry."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import workflows
from views.components.state import db_path


def select_run(key: str) -> workflows.ModelRun | None:
    """A selectbox of complete model runs, the active one first; its record, or None."""
    runs = workflows.load_runs(db_path())
    runs = runs[runs["status"] == "complete"].sort_values("active", ascending=False)
    if runs.empty:
        if not follow_first_model(db_path()):
            st.info("No trained model yet: train one on the Training page.")
        return None
    labels = {r.run_id: f"{r.run_id}{'  (active)' if r.active else ''}" for r in runs.itertuples()}
    run_id = st.selectbox("Model run", list(labels), format_func=labels.get, key=key)
    return workflows.load_run(db_path(), run_id)


def render_job(job: workflows.TrainingJob) -> None:
    """Progress bar, message and log tail of the running training job."""
    st.progress(min(max(job.progress, 0.0), 1.0), text=job.message)
    st.caption(f"Run {job.run_id} · process {job.pid} · started {job.started_utc}")
    if job.log_tail:
        st.code("\n".join(job.log_tail), language="text")


def _interval(value) -> str:
    """One of ``workflows.RunScores``' intervals as text ("" when the run has none)."""
    return "" if value is None else f"{value.estimate:.3f} [{value.low:.3f}, {value.high:.3f}]"


def render_outcome(path: str, run_id: str) -> None:
    """How the job ``run_id`` launched from the page ended, with its log's tail if it failed."""
    _, message, tail = workflows.read_training_log(run_id)
    runs = workflows.load_runs(path).set_index("run_id")
    status = runs.at[run_id, "status"] if run_id in runs.index else "did not start"
    (st.success if status == "complete" else st.error)(f"Run {run_id}: {status}. {message}")
    if status != "complete" and tail:
        st.code("\n".join(tail), language="text")


def render_runs(path: str, just_trained: str | None = None) -> None:
    """The run registry with out-of-sample scores, and "make active" (the run
    ``just_trained`` preselected once it is complete)."""
    runs = workflows.load_runs(path)
    if runs.empty:
        st.info("No runs yet.")
        return
    rows = []
    for run in runs.itertuples():
        scores = workflows.RunScores.from_metrics(run.metrics)
        rows.append(
            {
                "run": run.run_id,
                "status": run.status,
                "active": run.active,
                "origin": run.origin,
                "created (UTC)": run.created_utc,
                "trained through": workflows.describe_trained_through(run),
                "AUC [95%]": _interval(scores.auc),
                "baseline AUC": _interval(scores.baseline_auc),
                "mean IC [95%]": _interval(scores.mean_ic),
                "ECE": _interval(scores.ece),
                "Brier": _interval(scores.brier),
                "Brier climatology": scores.brier_climatology,
                "message": run.message,
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="runs.table")
    complete = runs.loc[runs["status"] == "complete", "run_id"].tolist()
    if complete:
        if just_trained in complete and st.session_state.get("runs.preselected") != just_trained:
            st.session_state["runs.choice"] = st.session_state["runs.preselected"] = just_trained
        left, right = st.columns([3, 1])
        chosen = left.selectbox("Run", complete, key="runs.choice", label_visibility="collapsed")
        if right.button("Make active", key="runs.activate"):
            workflows.activate_run(path, chosen)
            st.rerun()


def follow_first_model(path: str) -> bool:
    """While the store's first model trains (workflows.first_model_training): its progress,
    refreshed every 2 s, and a full rerun when it is done. False when none is training."""
    if workflows.first_model_training(path) is None:
        return False
    _first_model_progress(path)
    return True


@st.fragment(run_every=2)
def _first_model_progress(path: str) -> None:
    job = workflows.first_model_training(path)
    if job is None:
        st.rerun()  # the model is there (or the job failed): the whole page again
    st.info(
        f"No model yet: run {job.run_id} is training in the background (on a new store, "
        "the default model the first launch started). This page fills in when it is done."
    )
    st.progress(min(max(job.progress, 0.0), 1.0), text=job.message)
