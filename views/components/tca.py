"""Transaction-cost analysis on the Paper trading and Broker pages: each fill's realized
cost against the cost model's estimate, summaries with intervals, the cost model's
parameters re-estimated from the fills (shown, never applied)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from engine import workflows
from engine.display.tca import plot_tca

BPS = st.column_config.NumberColumn(format="%.2f")
PRICES = {
    "paper": "Paper fills are the execution model's own: their execution cost is its "
    "estimate by construction, so this table checks the journal against the model.",
    "broker": "Broker fills: the broker's average fill price against the decision price "
    "(the close the target was decided at) and the arrival price (the fill session's open, "
    "its close on a close-only bar: a market day order sent after the close is queued for "
    "that open, and no quote is recorded when it is sent). The broker reports no commission.",
}


def render_tca(path: str, as_of: dt.date, source: str) -> None:
    """The transaction-cost analysis of ``source``'s fills (paper or broker) up to ``as_of``."""
    st.subheader("Transaction costs")
    try:
        report = workflows.transaction_costs(path, pd.Timestamp(as_of), source)
    except (ValueError, workflows.StoreError) as exc:
        st.error(f"Transaction costs unavailable: {exc}")
        return
    if report.unpriced:
        st.caption(f"{report.unpriced} filled order(s) without a fill time or price are left out.")
    if report.fills.empty:
        st.caption(f"No {source} fills by {as_of}: the analysis starts with the first one.")
        return
    st.caption(
        "Costs in bps of the decision notional (shares x decision price), positive when they "
        "cost, for buys and sells alike: delay (decision -> arrival: the open), execution "
        "(arrival -> fill) and commission add up to the shortfall. The estimate is what the "
        "execution model charges the same trade on the same session. " + PRICES[source]
    )
    st.plotly_chart(plot_tca(report.fills, report.summary), key=f"{source}.tca.chart")
    numbers = {c: BPS for c in report.summary.columns if c not in ("group", "fills")}
    st.dataframe(
        report.summary, hide_index=True, key=f"{source}.tca.summary", column_config=numbers
    )
    st.caption(
        "Rebalance fills only (a stop or take-profit fills at its level, not at the arrival "
        "price); intervals: 95%, resampling whole fill dates."
    )
    with st.expander(f"Every fill ({len(report.fills)})"):
        st.dataframe(report.fills, hide_index=True, key=f"{source}.tca.fills")
    st.markdown("**Cost model re-estimated from these fills**")
    fit = report.reestimate
    st.caption(fit.message)
    st.dataframe(fit.table(), hide_index=True, key=f"{source}.tca.reestimate")
    st.info(
        "Shown only: these estimates are never applied. The paper step, backtests and the "
        "broker keep the cost model in force until you change its parameters yourself."
    )
