"""Calibration: is P(up) what it says? Out-of-sample reliability, overall and per regime."""

import streamlit as st

from engine import workflows
from engine.display.calibration import plot_reliability, plot_reliability_by_regime
from views.components.loaders import cached_calibration_report
from views.components.runs import select_run
from views.components.state import global_params

params = global_params()
st.title("Calibration")
run = select_run("calibration.run")
if run is None:
    st.stop()
try:
    report = cached_calibration_report(params.db_path, run.run_id)
except (workflows.StoreError, ValueError) as exc:
    st.error(f"Cannot read run {run.run_id}: {exc}")
    st.stop()

st.caption(
    f"Run **{run.run_id}** · {report.forecasts:,} out-of-sample forecasts on "
    f"{report.sessions:,} sessions ({report.first:%Y-%m-%d} to {report.last:%Y-%m-%d}), from "
    f"{report.folds} walk-forward folds. Each fold's calibrator was fitted on a held-out "
    "slice of its training window plus the earlier folds' out-of-sample forecasts whose "
    "outcomes were known before its test window, never on the rows scored here, and shrunk "
    "toward the base rate when that evidence spans few dates."
)
event = workflows.probability_label(workflows.run_kind(run))
rows = report.methods.set_index("method")
cols = st.columns(3)
for col, (name, label) in zip(
    cols,
    (("uncalibrated", "Raw"), ("run's method", "Calibrated"), ("climatology", "Climatology")),
    strict=True,
):
    if name in rows.index:
        row = rows.loc[name]
        spread = (
            f"[{row['brier_low']:.4f}, {row['brier_high']:.4f}]"
            if name != "climatology"
            else "the base rate"
        )
        col.metric(f"{label} Brier", f"{row['brier']:.4f}", help=f"{spread}; lower is better")
calibrated = rows.loc["run's method"] if "run's method" in rows.index else None
if calibrated is not None and calibrated["brier_low"] > calibrated["brier_climatology"]:
    st.warning(
        "The calibrated probabilities score worse than always forecasting the base rate, "
        f"beyond their interval: as a {event} they add no information."
    )

st.subheader("Methods side by side")
table = report.methods
st.dataframe(
    table,
    hide_index=True,
    key="calibration.methods",
    column_config={c: st.column_config.NumberColumn(format="%.4f") for c in table.columns[1:]},
)
st.caption(
    "ECE uses 10 equal-mass bins. Intervals (low/high) resample whole dates. Climatology "
    "always forecasts the evaluation period's own up-rate: a forecast that does not beat it "
    "on Brier and log-loss adds no information."
)

st.subheader("Reliability diagram")
methods = st.multiselect(
    "Show", list(report.curves), ["run's method", "uncalibrated"], key="calibration.show"
)
curves = {m: report.curves[m] for m in methods}
if curves:
    st.plotly_chart(plot_reliability(curves), key="calibration.reliability")
st.caption("Bars: 95% Wilson intervals of each bin's observed up-rate.")

st.subheader("Per regime")
if report.by_regime:
    st.plotly_chart(plot_reliability_by_regime(report.by_regime), key="calibration.regimes")
    if report.regimes_skipped > 0:
        st.caption(
            f"{report.regimes_skipped} regime(s) with fewer than 200 forecasts are not drawn."
        )
else:
    st.info("No regime has 200 or more out-of-sample forecasts in this run.")
