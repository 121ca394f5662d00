"""Re-entry watch: conditions for buying back sold names, which are met as of the sidebar
date and since when."""

import pandas as pd
import streamlit as st

from engine import workflows
from engine.workflows.data import REGIME_NAMES
from views.components.loaders import cached_reentry_watch
from views.components.state import global_params

params = global_params()
path = params.db_path
st.title("Re-entry watch")
st.caption(
    f"As of **{params.as_of}**, from prices, regimes and forecasts dated on or before it. "
    "A condition whose input is missing on a date is unknown there, never 'not met'."
)
ERRORS = (workflows.BookError, workflows.StoreError)
try:
    sold = workflows.load_watchlist(path, "Re-entry")
except workflows.WatchlistError:
    sold = []
if sold:
    st.caption(f"Sold names on the Re-entry watchlist: {', '.join(sold)}")

with st.form("reentry.form"):
    st.markdown("Set the conditions of one ticker (leave a field empty to not use it).")
    left, mid, right = st.columns(3)
    ticker = left.text_input("Ticker", key="reentry.ticker")
    percentile = mid.number_input(
        "Rank percentile at least", 0.0, 1.0, value=None, key="reentry.percentile"
    )
    min_p = right.number_input("P(beats median) at least", 0.0, 1.0, value=None, key="reentry.p")
    first, second = st.columns(2)
    days = first.number_input("Pullback window (sessions)", 2, 1000, 20, key="reentry.days")
    pullback = second.number_input(
        "Pullback from the high at least", 0.0, 1.0, value=None, help="0.1 = 10%",
        key="reentry.pullback",
    )  # fmt: skip
    regimes = st.multiselect(
        "Regime in", list(range(len(REGIME_NAMES))), format_func=REGIME_NAMES.__getitem__,
        key="reentry.regimes",
    )  # fmt: skip
    if st.form_submit_button("Save condition"):
        try:
            saved = workflows.save_reentry_condition(
                path,
                ticker,
                min_percentile=percentile,
                min_p=min_p,
                pullback_days=int(days),
                min_pullback=pullback,
                regimes=regimes or None,
            )
            st.success(f"Saved the conditions of {saved.ticker}.")
        except ERRORS as exc:
            st.error(f"Not saved: {exc}")

active = workflows.active_run(path)  # with the conditions as stored, the cache key
conditions = tuple(workflows.load_reentry_conditions(path))
report = cached_reentry_watch(
    path, params.version, params.as_of, conditions, active and active.run_id
)
if not report.statuses:
    st.info("No re-entry conditions yet: set some above.")
    st.stop()
st.caption(f"Forecast values: {report.note}.")
summary = pd.DataFrame(
    [
        {
            "ticker": s.ticker,
            "all conditions": s.state,
            "since": s.since,
            "since (at least)": s.since_start,
            "last session": s.session,
        }
        for s in report.statuses
    ]
)
st.dataframe(summary, hide_index=True, key="reentry.summary")
for status in report.statuses:
    with st.expander(f"{status.ticker}: {status.state}"):
        if status.session is None:
            st.warning(f"No stored prices for {status.ticker} on or before {params.as_of}.")
        st.dataframe(status.checks, hide_index=True, key=f"reentry.checks.{status.ticker}")

tickers = [s.ticker for s in report.statuses]
left, right = st.columns([3, 1])
gone = left.selectbox("Conditions to remove", tickers, key="reentry.remove_choice")
if right.button("Remove conditions", key="reentry.remove"):
    workflows.remove_reentry_condition(path, gone)
    st.rerun()
