"""Monitor: is the active model still valid? Feature drift, recent forecast quality and the
live record against the backtest."""

import dataclasses
import datetime as dt

import streamlit as st

from engine import workflows
from engine.display.monitor import plot_rolling_quality
from engine.workflows.research import DriftThresholds
from views.components.live_calibration import render_live_calibration
from views.components.live_record import render_champion, render_live_record, render_routine
from views.components.loaders import cached_monitor_report
from views.components.retraining import render_retraining
from views.components.runs import select_run
from views.components.settings import render_alert_log
from views.components.state import global_params

params = global_params()
st.title("Monitor")
render_routine(params.db_path)
render_champion(params.db_path)
render_retraining(params.db_path)
run = select_run("monitor.run")
if run is None:
    render_alert_log(params.db_path)
    st.stop()
window = st.select_slider(
    "Recent window (sessions)", [21, 42, 63, 126, 252], 63, key="monitor.window"
)
with st.expander("Thresholds"):
    c1, c2, c3, c4 = st.columns(4)
    default = DriftThresholds()
    thresholds = DriftThresholds(
        psi=c1.number_input("PSI per feature", 0.05, 1.0, default.psi, 0.05, key="monitor.psi"),
        drifted_share=c2.number_input(
            "Share of drifted features", 0.05, 1.0, default.drifted_share, 0.05, key="monitor.share"
        ),
        ece=c3.number_input("Rolling ECE", 0.01, 0.5, default.ece, 0.01, key="monitor.ece"),
        sharpe_drop=c4.number_input(
            "Sharpe drop", 0.0, 5.0, default.sharpe_drop, 0.05, key="monitor.drop"
        ),
    )
try:
    report = cached_monitor_report(
        params.db_path,
        version=params.version,
        run_id=run.run_id,
        as_of=params.as_of,
        window=window,
        thresholds=dataclasses.astuple(thresholds),
    )
except (ValueError, workflows.StoreError, KeyError, IndexError) as exc:
    st.error(f"Cannot monitor run {run.run_id} as of {params.as_of}: {exc}")
    render_alert_log(params.db_path)
    st.stop()

if report.retrain:
    st.warning("Retraining is recommended:\n" + "\n".join(f"- {r}" for r in report.reasons))
    if st.button("Open the Training page prefilled", key="monitor.retrain"):
        st.session_state["training.as_of"] = params.as_of
        st.session_state["training.start"] = params.as_of - dt.timedelta(days=5 * 365)
        st.switch_page("views/training.py")
else:
    st.success("No retrain needed: drift and recent forecast quality are within the thresholds.")

drifted = int(report.drift["drifted"].sum())
cols = st.columns(3)
cols[0].metric("Drifted features", f"{drifted} of {len(report.drift)}")
REFERENCE = (  # what the two Sharpe figures are, and are not
    "Trading the sign of P - 0.5 on each forecast's overlapping outcome, before costs and "
    "without an interval: the yardstick the drift monitor compares the rolling figure "
    "with, not a performance figure (the Backtest page reports that, after costs)."
)
cols[1].metric("Sign-trading Sharpe, walk-forward (drift yardstick)",
               f"{report.baseline_sharpe:.2f}", help=REFERENCE)  # fmt: skip
latest = report.quality.dropna(how="all").iloc[-1] if len(report.quality) else None
now = f"{latest['sharpe']:.2f}" if latest is not None else "n/a"
cols[2].metric("Sign-trading Sharpe, rolling now", now, help=REFERENCE)
st.subheader(f"Feature drift: last {window} sessions vs the training baseline")
st.dataframe(
    report.drift,
    hide_index=True,
    key="monitor.drift",
    column_config={
        "psi": st.column_config.NumberColumn("PSI", format="%.3f"),
        "ks_pvalue": st.column_config.NumberColumn("KS p-value", format="%.2e"),
    },
)
st.subheader("Forecasts whose outcome is known")
if len(report.quality):
    floor = report.baseline_sharpe - thresholds.sharpe_drop
    st.plotly_chart(
        plot_rolling_quality(report.quality, thresholds.ece, floor), key="monitor.quality"
    )
st.caption(
    "PSI bins are the baseline's deciles; KS is the two-sample test. Forecasts count only once "
    f"their outcome is known by {params.as_of}."
)
render_live_record(params.db_path, run.run_id, params.as_of)
render_live_calibration(params.db_path, run.run_id, params.as_of)
render_alert_log(params.db_path)
