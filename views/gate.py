"""Go / No-Go: the gate on the paper journal, and the capital ramp it governs."""

import pandas as pd
import streamlit as st

from engine import workflows
from engine.workflows.trading import GO, RAMP_STAGES, RULES
from views.components.settings import alert_settings
from views.components.state import global_params

params = global_params()
st.title("Go / No-Go")
st.caption(
    "GO needs every criterion past its GO threshold, NO-GO any past its NO-GO one; between "
    "the two, keep paper trading. Fewer than 20 closed trades, 20 step returns or 30 "
    "forecasts with a known outcome: not enough evidence yet. A closed trade is a fill that "
    "reduces a position, against its FIFO lots, and wins with a positive P&L after costs."
)
with st.expander("The criteria"):
    st.dataframe(
        pd.DataFrame(
            [
                {"criterion": k, "GO if": f"{g[0]} {g[1]}", "NO-GO if": f"{n[0]} {n[1]}"}
                for k, (g, n) in RULES.items()
            ]
        ),  # fmt: skip
        hide_index=True,
        key="gate.rules",
    )
st.caption(f"The gate reads the journal up to the as-of date, **{params.as_of}**.")
if st.button("Run the gate", type="primary", key="gate.run"):
    try:
        with st.spinner("Closing trades, scoring forecasts, resampling..."):
            st.session_state["gate.report"] = workflows.run_gate(
                params.db_path, pd.Timestamp(params.as_of), alerts=alert_settings()
            )
    except (ValueError, workflows.StoreError) as exc:
        st.error(str(exc))

report = st.session_state.get("gate.report")
if report is None:
    st.info("Press Run the gate to judge the paper journal.")
    st.stop()
verdict = report.gate.verdict
show = {GO: st.success, "NO-GO": st.error}.get(verdict, st.info)
show(f"As of {report.as_of:%Y-%m-%d}: **{verdict}**")
st.dataframe(report.gate.table(), hide_index=True, key="gate.table")
for criterion in report.gate.criteria:
    if criterion.straddles and criterion.enough:
        low, high = criterion.interval.low, criterion.interval.high
        st.warning(
            f"The interval of the {criterion.name} [{low:.3g}, {high:.3g}] straddles "
            f"{', '.join(f'{t:g}' for t in criterion.straddles)}: which side the true value "
            "lies on is not sure yet."
        )

st.subheader("Capital ramp")
stages = " -> ".join(f"{f:.0%}" for f in RAMP_STAGES)
st.metric("Share of the model's weights traded", f"{report.fraction:.0%}", help=stages)
st.caption(
    "The ramp moves only when you confirm: up one stage on GO, back to 1% on NO-GO, at most "
    "once per as-of date. Each change is recorded with its date and the gate's figures."
)
if report.proposal is not None and report.proposal > report.stage:
    if st.button("Advance the ramp", key="gate.advance"):
        st.session_state["gate.report"] = workflows.change_ramp(params.db_path, report.as_of)
        st.rerun()
elif report.proposal == 0:
    st.error("The gate says NO-GO: dropping back to 1% is suggested.")
    if st.button("Drop the ramp to 1%", key="gate.drop"):
        st.session_state["gate.report"] = workflows.change_ramp(params.db_path, report.as_of)
        st.rerun()
if len(report.history):
    st.dataframe(report.history.drop(columns="gate_json"), hide_index=True, key="gate.history")
