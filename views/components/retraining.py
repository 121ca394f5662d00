"""The Monitor page's retraining policy: the one in force (set or removed here), and
policies replayed over the champion's history against the static model."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from engine import workflows
from engine.display.monitor import plot_policy_record
from engine.workflows.research import CADENCES, WINDOW_MONTHS, RetrainPolicy
from views.components.progress import StreamlitProgress
from views.components.studies import choose_study

FIGURE = st.column_config.NumberColumn(format="%.4f")
PERCENT = st.column_config.NumberColumn(format="%.2f%%")


def _policy_form(current: RetrainPolicy | None) -> RetrainPolicy | None:
    """The form's policy (None when its settings are refused, with the reason shown)."""
    shown = current or RetrainPolicy()
    c1, c2, c3, c4 = st.columns(4)
    cadence = c1.selectbox(
        "Schedule", list(CADENCES), list(CADENCES).index(shown.cadence), key="retrain.cadence"
    )
    window = c2.number_input(
        "Window (months)", *WINDOW_MONTHS, shown.window_months, key="retrain.window"
    )
    drift = c3.checkbox("Also on drift", shown.on_drift, key="retrain.drift")
    performance = c4.checkbox(
        "Also when live falls below the backtest", shown.on_performance, key="retrain.live"
    )
    try:
        return RetrainPolicy(cadence, int(window), drift, performance)
    except ValueError as exc:
        st.error(str(exc))
        return None


def _replay(path: str, window: int) -> None:
    """Replay chosen schedules against the static model and save the study."""
    chosen = st.multiselect(
        "Schedules to replay (the static model is always the baseline)",
        [c for c in CADENCES if c != "static"],
        ["monthly"],
        key="retrain.replay",
    )
    start = st.date_input("Replay from (empty: as early as the window allows)", None,
                          min_value=dt.date(1990, 1, 1), key="retrain.start")  # fmt: skip
    if not st.button("Replay over history", disabled=not chosen, key="retrain.run"):
        return
    progress = StreamlitProgress("Replaying the policies")
    try:
        study, _ = workflows.simulate_retraining(
            path,
            [RetrainPolicy(c, window) for c in chosen],
            start=None if start is None else pd.Timestamp(start),
            progress=progress,
        )
    except (ValueError, workflows.StoreError) as exc:
        progress.finish("The replay failed", ok=False)
        st.error(str(exc))
    else:
        progress.finish(f"Replay {study} saved", ok=True)
        st.session_state["policy.study"] = study  # the one shown below


def _saved_replay(path: str) -> None:
    study = choose_study(path, "policy", "Saved replay")
    if study is None:
        st.caption("No replay saved yet.")
        return
    settings, table, daily = workflows.load_study(path, "policy", study)
    st.caption(f"Run {settings['run_id']}, replayed from {settings['start']}.")
    shown = table.assign(**{c: table[c] * 100 for c in ("excess", "excess_low", "excess_high")})
    figures = [c for c in shown.columns if c.startswith(("rank_ic", "vs_static"))]
    st.dataframe(
        shown,
        hide_index=True,
        key="retrain.table",
        column_config={c: FIGURE for c in figures}
        | {c: PERCENT for c in ("excess", "excess_low", "excess_high")},
    )
    st.plotly_chart(
        plot_policy_record(daily.set_index(pd.to_datetime(daily["date"])).drop(columns="date")),
        key="retrain.chart",
    )
    st.caption(
        "Out of sample on the same sessions for every policy. rank IC: mean daily rank IC of "
        "the score against the excess return; vs_static: its difference from the static "
        "model's, paired by session; excess: the top-k book after costs over the equal-weight "
        "universe, a year. Intervals resample blocks of sessions, Bonferroni over the rows; "
        "each policy replayed is a trial. Drift and live triggers are not replayed."
    )


def _put_in_force(path: str, policy: RetrainPolicy | None) -> None:
    """Store the policy and draw the page again, so it shows the policy now in force."""
    workflows.save_retrain_policy(path, policy)
    st.session_state["retrain.done"] = (
        "Removed: retraining only on request." if policy is None
        else f"In force from the next routine run: {policy.describe()}."
    )  # fmt: skip
    st.rerun()


def render_retraining(path: str) -> None:
    """The policy in force with its form, and the replays of policies over history."""
    st.subheader("Retraining policy")
    current = workflows.load_retrain_policy(path)
    st.caption(
        f"In force: {current.describe()}." if current is not None
        else "No policy: nothing retrains by itself; the daily routine skips the step."
    )  # fmt: skip
    policy = _policy_form(current)
    c1, c2 = st.columns(2)
    if c1.button("Put this policy in force", disabled=policy is None, key="retrain.save"):
        _put_in_force(path, policy)
    if c2.button("Remove the policy", disabled=current is None, key="retrain.remove"):
        _put_in_force(path, None)
    if "retrain.done" in st.session_state:
        st.success(st.session_state.pop("retrain.done"))
    with st.expander("Replay policies over history"):
        _replay(path, policy.window_months if policy else RetrainPolicy().window_months)
        _saved_replay(path)
