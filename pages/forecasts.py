"""Forecasts: calibrated P(up) for the watchlist at the as-of date, with reasons."""

import pandas as pd
import streamlit as st

from engine import workflows
from pages.common import cached_forecasts, global_params, select_run

params = global_params()
st.title("Forecasts")
run = select_run("forecasts.run")
if run is None or not params.tickers:
    if not params.tickers:
        st.info("This watchlist is empty: add tickers on the Data page.")
    st.stop()

left, right = st.columns(2)
buy = left.slider("BUY at P(up) of at least", 0.50, 0.80, 0.55, 0.01, key="forecasts.buy")
sell = right.slider("SELL at P(up) of at most", 0.20, 0.50, 0.45, 0.01, key="forecasts.sell")
if sell >= buy:
    st.error("The SELL threshold must be below the BUY threshold.")
    st.stop()
trained = workflows.trained_through(run)
st.caption(
    f"Run **{run.run_id}** · trained through **{trained:%Y-%m-%d}** (its newest outcome) · "
    f"as of **{params.as_of}**"
)
try:
    frame = cached_forecasts(
        params.db_path,
        version=params.version,
        run_id=run.run_id,
        as_of=params.as_of,
        tickers=params.tickers,
        buy=buy,
        sell=sell,
    )
except workflows.LookaheadError as exc:
    st.error(f"Refused: {exc}")
    st.stop()
except (workflows.StoreError, ValueError) as exc:  # a refused bundle names its file
    st.error(f"Cannot forecast with run {run.run_id}: {exc}")
    st.stop()

st.caption(
    f"BUY if P(up) >= {buy:.2f}, SELL if <= {sell:.2f}, else HOLD · confidence = "
    "|P(up) - 0.5| x 2 · expected return = P x mean up-move + (1 - P) x mean down-move"
)
missing = sorted(set(params.tickers) - set(frame.index))
if missing:
    st.warning(f"No stored session on or before the as-of date for {', '.join(missing)}.")
stale = frame[frame["date"] < pd.Timestamp(params.as_of)]
if len(stale):
    st.warning(f"{len(stale)} forecast(s) use an older session than the as-of date (see 'date').")

left, middle, right = st.columns([2, 2, 3])
directions = left.multiselect(
    "Direction", ["BUY", "SELL", "HOLD"], ["BUY", "SELL", "HOLD"], key="forecasts.directions"
)
floor = middle.slider("Minimum confidence", 0.0, 1.0, 0.0, 0.05, key="forecasts.confidence")
search = right.text_input("Ticker contains", key="forecasts.search").strip().upper()
shown = frame[frame["direction"].isin(directions) & (frame["confidence"] >= floor)]
if search:
    shown = shown[shown.index.str.contains(search, regex=False)]
shown = shown.sort_values("confidence", ascending=False).rename_axis("ticker").reset_index()

counts = frame["direction"].value_counts()
cols = st.columns(4)
cols[0].metric("Tickers", len(frame))
for col, name in zip(cols[1:], ("BUY", "SELL", "HOLD"), strict=True):
    col.metric(name, int(counts.get(name, 0)))
st.dataframe(
    shown.drop(columns="run_id"),
    hide_index=True,
    key="forecasts.table",
    column_config={
        "date": st.column_config.DateColumn("session"),
        "p_up": st.column_config.NumberColumn("P(up)", format="%.3f"),
        "confidence": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f"),
        "expected_return": st.column_config.NumberColumn("expected return", format="percent"),
        "reasons": st.column_config.TextColumn("top reasons", width="large"),
    },
)
st.download_button(
    "Download CSV",
    shown.to_csv(index=False).encode(),
    file_name=f"forecasts_{params.as_of}.csv",
    mime="text/csv",
    key="forecasts.download",
)
with st.expander("Reasons in full"):
    for row in shown.head(50).itertuples():
        st.markdown(f"**{row.ticker}** · {row.direction} · P(up) {row.p_up:.3f}")
        st.caption(row.reasons.replace("; ", "  \n"))
