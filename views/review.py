"""Daily review (landing page): regime, top forecasts, paper P&L, alerts, data freshness."""

import pandas as pd
import streamlit as st

from engine import workflows
from engine.display.prices import plot_relative_performance
from engine.display.signals import plot_regime_strip
from engine.workflows.data import compute_price_summary
from views.components.data_widgets import render_freshness_metrics, show_ingest_result
from views.components.loaders import (
    cached_forecasts,
    cached_freshness,
    cached_prices_as_of,
    cached_regime_history,
)
from views.components.progress import StreamlitProgress
from views.components.runs import follow_first_model
from views.components.settings import alert_settings
from views.components.state import global_params

params = global_params()
st.title("Daily review")
st.caption(
    f"Watchlist **{params.watchlist}** · as of **{params.as_of}** · "
    "every figure uses data dated on or before the as-of date only"
)

if not params.tickers:
    st.info("This watchlist is empty: add tickers on the Data page.")
    st.stop()

if st.button("Refresh data and forecast", type="primary", key="review.pipeline"):
    progress = StreamlitProgress("Daily pipeline")
    day, alerts = pd.Timestamp(params.as_of), alert_settings()
    outcome = workflows.run_daily_pipeline(
        params.db_path, params.source, list(params.tickers), day, progress, alerts=alerts
    )
    progress.finish("Daily pipeline finished", ok=outcome.refresh.status in ("ok", "partial"))
    show_ingest_result(outcome.refresh)
    for note in outcome.notes:
        st.info(note)
    if outcome.monitor is not None and outcome.monitor.retrain:
        st.session_state["review.drift"] = outcome.monitor.reasons

history = cached_regime_history(params.db_path, params.version, params.as_of, params.tickers)
if len(history):
    st.metric("Market regime", history["regime_name"].iloc[-1] or "unknown (an input is missing)")
    st.plotly_chart(plot_regime_strip(history.iloc[-60:]), key="review.regimes")

alerts = []
try:
    paper = workflows.load_paper_state(params.db_path, pd.Timestamp(params.as_of))
except workflows.StoreError:
    paper = None
if paper is not None and paper.account.halted:
    alerts.append(f"Paper trading is paused: {paper.account.halt_reason}")
alerts += [f"Drift: {r}" for r in st.session_state.get("review.drift", ())]
for alert in alerts:
    st.warning(alert)  # needs attention; errors are kept for what failed
if paper is not None and len(paper.steps):  # the paper page's figure: one rule
    pnl = paper.pnl_today
    st.metric("Paper P&L today", pnl.text, help=pnl.note or f"session {pnl.session:%Y-%m-%d}")

run = workflows.active_run(params.db_path)
if run is not None:
    try:
        where = {"version": params.version, "as_of": params.as_of, "tickers": params.tickers}
        frame = cached_forecasts(params.db_path, run_id=run.run_id, **where)
    except (workflows.StoreError, ValueError) as exc:
        st.error(f"Forecasts unavailable: {exc}")
    else:
        verdict = workflows.ranking_skill(run.metrics)
        (st.success if verdict.shown else st.warning)(verdict.text)
        ranked = frame.sort_values("rank").rename_axis("ticker").reset_index()
        event = workflows.probability_label(workflows.run_kind(run))
        columns = ["rank", "ticker", "score_vs_average", "p_up", "reasons"]
        config = {"p_up": st.column_config.NumberColumn(event, format="%.3f")}
        half = max(1, min(5, len(ranked) // 2))
        for column, name, rows in zip(
            st.columns(2),
            ("Top of the ranking", "Bottom of the ranking"),
            (ranked.head(half), ranked.tail(half).iloc[::-1]),
            strict=True,
        ):
            column.subheader(name)
            if ranked["score"].nunique() < 2:
                column.caption("Every ticker scores the same today: no ranking to show.")
                continue
            key = f"review.{name.split()[0].lower()}"
            column.dataframe(rows[columns], hide_index=True, column_config=config, key=key)
elif not follow_first_model(params.db_path):
    st.info("No active model: train one on the Training page to see forecasts here.")

freshness = cached_freshness(params.db_path, params.version, params.as_of, params.tickers)
render_freshness_metrics(freshness)
counts = freshness["status"].value_counts()
stale, missing = int(counts.get("stale", 0)), int(counts.get("no data", 0))
if missing:
    names = ", ".join(freshness.loc[freshness["status"] == "no data", "ticker"])
    st.warning(
        f"No stored prices for {names}. Refresh them on the Data page "
        "(the offline sample has only its 33 tickers; others need live data)."
    )
if stale:
    behind = freshness.loc[freshness["status"] == "stale", ["ticker", "sessions_behind"]]
    worst = behind.sort_values("sessions_behind").iloc[-1]
    st.warning(
        f"{stale} ticker(s) lag the as-of date; the worst, {worst['ticker']}, by "
        f"{int(worst['sessions_behind'])} NYSE session(s)."
    )

prices = cached_prices_as_of(params.db_path, params.version, params.as_of, params.tickers)
as_of = pd.Timestamp(params.as_of)
summary = compute_price_summary(prices, as_of)
if summary.empty:
    st.info("Nothing stored for this watchlist on or before the as-of date.")
    st.stop()

st.subheader("Universe")
table = freshness[["ticker", "status", "sessions_behind", "has_ohlc", "has_volume", "source"]]
table = table.merge(summary, on="ticker", how="left")
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
