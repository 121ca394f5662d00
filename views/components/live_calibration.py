"""The Monitor page's live recalibration: the versions of the run's live map, each judged
on the outcomes that arrived after it was fitted, and the reliability before and after."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from engine import workflows
from engine.display.calibration import plot_reliability

FIGURE = st.column_config.NumberColumn(format="%.4f")


def render_live_calibration(path: str, run_id: str, as_of: dt.date) -> None:
    """Versions of ``run_id``'s live map fitted by ``as_of``, Brier and ECE of the
    recorded probability against the recalibrated one on later outcomes (with
    intervals), whether recalibration helps, and both reliability curves."""
    st.subheader("Live recalibration")
    try:
        report = workflows.live_calibration_report(path, run_id, pd.Timestamp(as_of))
    except (ValueError, workflows.StoreError) as exc:
        st.error(f"Cannot judge the live recalibration of run {run_id}: {exc}")
        return
    if report.versions.empty:
        st.info(
            f"No live recalibration of run {run_id} fitted by {as_of}: the daily routine "
            "refits the map once 25 new outcomes are known (never for market timing)."
        )
        return
    message = f"Recalibration on later outcomes: {report.verdict}."
    {"helps": st.success, "hurts": st.warning}.get(report.standing, st.info)(message)
    figures = {
        "Brier": (report.brier_raw, report.brier_live, report.brier_change),
        "ECE": (report.ece_raw, report.ece_live, report.ece_change),
    }
    rows = [
        (name, *(value for i in intervals for value in (i.estimate, i.low, i.high)))
        for name, intervals in figures.items()
    ]
    parts = ["recorded", "recorded_low", "recorded_high", "live", "live_low", "live_high"]
    columns = ["measure", *parts, "change", "change_low", "change_high"]
    table = pd.DataFrame(rows, columns=columns)
    st.dataframe(
        table,
        hide_index=True,
        key="monitor.recalibration.figures",
        column_config={c: FIGURE for c in columns[1:]},
    )
    st.dataframe(
        report.versions,
        hide_index=True,
        key="monitor.recalibration.versions",
        column_config={c: FIGURE for c in report.versions.columns[3:] if c != "judged"},
    )
    if report.judged:
        curves = {"recorded p": report.reliability_raw, "recalibrated p'": report.reliability_live}
        st.plotly_chart(plot_reliability(curves), key="monitor.recalibration.reliability")
    st.caption(
        f"Each forecast is judged with the version in force when it was made, fitted on "
        f"outcomes known by then only: {report.judged} outcomes over {report.dates} dates. "
        "p' = sigmoid(intercept + slope x logit p), shrunk toward the identity by the "
        "number of outcomes and the evidence against the identity. Change: p' less p "
        "(below 0 is better); intervals resample blocks of dates."
    )
