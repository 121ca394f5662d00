"""The Monitor page's live record (forecasts stored as made, scored when known, beside the
backtest's figures), the daily routine's state, and the champion with its rollback."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from engine import workflows

FIGURE = st.column_config.NumberColumn(format="%.4f")
LATEST = ["as_of", "ticker", "rank", "score", "p", "percentile", "outcome_date", "excess", "beat"]


def render_live_record(path: str, run_id: str, as_of: dt.date) -> None:
    """Counts, live against backtest (rank IC, hit rate, ECE with intervals), the verdict
    and the newest recorded forecasts of ``run_id``, as known by ``as_of``."""
    st.subheader("Live record")
    report = workflows.live_report(path, run_id, pd.Timestamp(as_of))
    if not report.forecasts:
        st.info(
            f"No live forecast of run {run_id} recorded by {as_of}: the daily routine stores "
            "each forecast as made and scores it once its outcome is known."
        )
        return
    cols = st.columns(4)
    cols[0].metric("Forecasts recorded", report.forecasts)
    cols[1].metric("Scored", report.scored)
    cols[2].metric("Dates forecast", report.dates)
    cols[3].metric("Dates with a live rank IC", report.scored_dates)
    message = f"Live against the backtest: {report.verdict}."
    if report.outside:
        st.warning(message)
    elif report.standing == "within":
        st.success(message)
    else:
        st.info(message)
    table = report.comparison()
    st.dataframe(
        table,
        hide_index=True,
        key="monitor.live.comparison",
        column_config={c: FIGURE for c in table.columns if c != "figure"},
    )
    st.caption(
        f"Live: forecasts as made, scored {report.horizon} sessions later against the "
        f"equal-weight mean of the tickers forecast that day; intervals resample blocks of "
        f"{report.block} dates. Top-{report.top_k} hit rate: share of each day's top "
        f"{report.top_k} names by score that beat that day's median. ECE: the probability "
        "against beating the median (none for market timing). Backtest: the run's "
        "walk-forward, out-of-sample figures."
    )
    newest = report.latest["as_of"].max()
    st.markdown(f"**Latest recorded forecasts** ({newest:%Y-%m-%d})")
    st.dataframe(report.latest[LATEST], hide_index=True, key="monitor.live.latest")


def render_routine(path: str) -> None:
    """When the daily routine runs next, and the steps of the last session it ran."""
    st.subheader("Daily routine")
    history = workflows.load_routine_history(path, limit=50)
    next_run = workflows.next_routine_run()
    if history.empty:
        st.info(
            "The daily routine has not run on this store: `python -m engine.workflows daily` "
            f"(cron or a systemd timer; see the docs). A schedule would next run it at "
            f"{next_run:%Y-%m-%d %H:%M} UTC, half an hour after the close."
        )
        return
    last = history["session"].max()
    steps = history[history["session"] == last]
    failed = steps[steps["status"] == "failed"]
    (st.warning if len(failed) else st.success)(
        f"Last session run: {last}; "
        + (f"failed: {', '.join(failed['step'])}." if len(failed) else "every step done.")
        + f" Next scheduled run: {next_run:%Y-%m-%d %H:%M} UTC."
    )
    st.dataframe(steps, hide_index=True, key="monitor.routine")


def render_champion(path: str) -> None:
    """The champion's history (promotions, challengers kept and why, rollbacks) and the
    rollback to the previous champion, confirmed first."""
    history = workflows.champion_history(path)
    if history.events.empty:
        return
    st.subheader("Champion and challengers")
    st.dataframe(history.events, hide_index=True, key="monitor.champions")
    if history.previous is None:
        st.caption("No previous champion to roll back to.")
        return
    sure = st.checkbox(
        f"Roll back to {history.previous}: its forecasts replace the champion's",
        key="monitor.rollback_sure",
    )
    if st.button("Roll back", disabled=not sure, key="monitor.rollback"):
        try:
            st.success(f"Run {workflows.rollback(path)} is the champion again.")
        except workflows.StoreError as exc:
            st.error(str(exc))
