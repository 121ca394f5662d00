"""Daily review (landing page): data freshness and the universe at the as-of date."""

import pandas as pd
import streamlit as st

from engine.data.summary import compute_snapshot
from engine.display.prices import plot_relative_performance
from pages.common import (
    cached_freshness,
    cached_prices,
    global_params,
    render_freshness_metrics,
)

params = global_params()
st.title("Daily review")
st.caption(
    f"Watchlist **{params.watchlist}** · as of **{params.as_of}** · "
    "every figure uses data dated on or before the as-of date only"
)

if not params.tickers:
    st.info("This watchlist is empty: add tickers on the Data page.")
    st.stop()

freshness = cached_freshness(params.db_path, params.version, params.as_of, params.tickers)
render_freshness_metrics(freshness)
counts = freshness["status"].value_counts()
stale, missing = int(counts.get("stale", 0)), int(counts.get("no data", 0))
if missing:
    names = ", ".join(freshness.loc[freshness["status"] == "no data", "ticker"])
    st.warning(
        f"No stored prices for {names}. Refresh them on the Data page "
        "(the offline sample has only its 28 tickers; others need live data)."
    )
if stale:
    behind = freshness.loc[freshness["status"] == "stale", ["ticker", "sessions_behind"]]
    worst = behind.sort_values("sessions_behind").iloc[-1]
    st.warning(
        f"{stale} ticker(s) lag the as-of date; the worst, {worst['ticker']}, by "
        f"{int(worst['sessions_behind'])} NYSE session(s)."
    )

prices = cached_prices(params.db_path, params.version, params.tickers)
as_of = pd.Timestamp(params.as_of)
prices = prices[prices["date"] <= as_of]
snapshot = compute_snapshot(prices, as_of)
if snapshot.empty:
    st.info("Nothing stored for this watchlist on or before the as-of date.")
    st.stop()

st.subheader("Universe")
table = freshness[["ticker", "status", "sessions_behind", "has_ohlc", "has_volume", "source"]]
table = table.merge(snapshot, on="ticker", how="left")
percent = st.column_config.NumberColumn(format="percent")
st.dataframe(
    table,
    hide_index=True,
    key="review.universe",
    column_config={
        "last_close": st.column_config.NumberColumn("last close", format="%.2f"),
        "last_date": st.column_config.DateColumn("last date"),
        "ret_1d": percent,
        "ret_5d": percent,
        "ret_20d": percent,
        "ret_252d": percent,
    },
)
st.caption("Returns are over the last 1, 5, 20 and 252 stored closes; a gap stays a gap.")

st.subheader("Relative performance")
months = st.select_slider("Window (months)", [1, 3, 6, 12, 36, 60], value=12, key="review.window")
start = as_of - pd.DateOffset(months=months)
st.plotly_chart(plot_relative_performance(prices, start), key="review.performance")
