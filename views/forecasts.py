"""Forecasts: the watchlist ranked by the active run at the as-of date, with reasons."""

import pandas as pd
import streamlit as st

from engine import workflows
from engine.workflows.modeling import KIND_NAMES, Thresholds
from views.components.loaders import cached_forecasts
from views.components.runs import select_run
from views.components.state import global_params

params = global_params()
st.title("Forecasts")
run = select_run("forecasts.run")
if run is None or not params.tickers:
    if not params.tickers:
        st.info("This watchlist is empty: add tickers on the Data page.")
    st.stop()

kind = workflows.run_kind(run)
relative = kind != "market_timing"
event = workflows.probability_label(kind)
left, right = st.columns(2)
buy = left.slider(
    f"BUY at {event} of at least", 0.50, 0.80, Thresholds.buy, 0.01, key="forecasts.buy"
)
sell = right.slider(
    f"SELL at {event} of at most", 0.20, 0.50, Thresholds.sell, 0.01, key="forecasts.sell"
)
if sell >= buy:
    st.error("The SELL threshold must be below the BUY threshold.")
    st.stop()
st.caption(
    f"Run **{run.run_id}** ({KIND_NAMES[kind]}) · trained through "
    f"**{workflows.describe_trained_through(run)}** (its newest outcome) · as of "
    f"**{params.as_of}**"
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
frame = workflows.recalibrated(params.db_path, frame, pd.Timestamp(params.as_of))
live = frame["live_calibration_version"].dropna()

verdict = workflows.ranking_skill(run.metrics)
(st.success if verdict.shown else st.warning)(verdict.text)
if len(frame) > 1 and frame["score"].nunique() == 1:
    st.warning("Every ticker gets the same score today: there is no ranking to read.")
if relative:
    st.caption(
        "Ranked by the model's score among the tickers forecast from the same session · "
        "score vs average = the score minus today's mean, and the reasons (each feature's "
        "part of it, relative to the average stock today) add up to it · percentile = share "
        "of the other tickers scored lower · expected excess return = P x mean excess of "
        "winners + (1 - P) x mean excess of losers, over the universe's equal-weight mean"
    )
else:
    st.caption(
        f"BUY if P(up) >= {buy:.2f}, SELL if <= {sell:.2f}, else HOLD · this market-timing "
        "model forecasts absolute direction, which the market dominates · expected return = "
        "P x mean up-move + (1 - P) x mean down-move"
    )
missing = sorted(set(params.tickers) - set(frame.index))
if missing:
    why = " (a ranking compares one session)" if relative else ""
    st.warning(f"No forecast for {', '.join(missing)}: no stored session then{why}.")
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
shown = shown.sort_values(["rank", "confidence"], ascending=[True, False])
shown = shown.rename_axis("ticker").reset_index()
columns = ["rank", "ticker", "score_vs_average", "percentile", "p_up", "expected_return"]
columns += ["direction", "confidence", "regime", "date", "reasons"]
if len(live):  # the live record's recalibration in force at the as-of date, beside p
    columns.insert(columns.index("p_up") + 1, "p_live")
    st.caption(f"p_live: {event} remapped by live recalibration version {live.iloc[0]} "
               "(fitted on the live record's outcomes known by then; see Monitor).")  # fmt: skip

counts = frame["direction"].value_counts()
cols = st.columns(4)
cols[0].metric("Tickers", len(frame))
for col, name in zip(cols[1:], ("BUY", "SELL", "HOLD"), strict=True):
    col.metric(name, int(counts.get(name, 0)))
st.dataframe(
    shown[columns],
    hide_index=True,
    key="forecasts.table",
    column_config={
        "date": st.column_config.DateColumn("session"),
        "score_vs_average": st.column_config.NumberColumn("score vs average", format="%+.3f"),
        "percentile": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f"),
        "p_up": st.column_config.NumberColumn(event, format="%.3f"),
        "p_live": st.column_config.NumberColumn(f"{event}, live-recalibrated", format="%.3f"),
        "confidence": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="%.2f"),
        "expected_return": st.column_config.NumberColumn(
            "expected excess return" if relative else "expected return", format="percent"
        ),
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
        st.markdown(
            f"**{row.rank}. {row.ticker}** · {row.direction} · {event} {row.p_up:.3f} · "
            f"score vs average {row.score_vs_average:+.3f}"
        )
        st.caption(row.reasons.replace("; ", "  \n"))
