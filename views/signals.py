"""Signals: one ticker's features at a date, its chart with overlays, flow and regime."""

import pandas as pd
import streamlit as st

from engine.display.signals import (
    plot_regime_strip,
    plot_signal_chart,
    plot_smi_gauge,
    plot_transition_matrix,
)
from engine.workflows.data import (
    compute_family_availability,
    compute_feature_readings,
    compute_overlays,
    interpret_smi,
    regime_transitions,
)
from views.components.loaders import (
    cached_features,
    cached_prices_as_of,
    cached_regime_history,
)
from views.components.state import global_params

params = global_params()
st.title("Signals")
if not params.tickers:
    st.info("This watchlist is empty: add tickers on the Data page.")
    st.stop()

left, middle, right = st.columns([2, 2, 3])
ticker = left.selectbox("Ticker", params.tickers, key="signals.ticker")
date = pd.Timestamp(
    middle.date_input(
        "Signal date",
        value=params.as_of,
        max_value=params.as_of,
        key="signals.date",
        help="Features use data dated on or before this day only.",
    )
)
months = right.select_slider("Chart window (months)", [3, 6, 12, 24, 60], 6, key="signals.window")

prices = cached_prices_as_of(params.db_path, params.version, None, (ticker,))
prices = prices[prices["date"] <= date]
if prices.empty:
    st.warning(
        f"No stored prices for {ticker} on or before {date:%Y-%m-%d}: refresh it on the Data page."
    )
    st.stop()
features = cached_features(params.db_path, params.version, (ticker,)).loc[ticker].loc[:date]
day = features.index[-1]
if day < date:
    st.caption(f"Last stored session on or before {date:%Y-%m-%d}: **{day:%Y-%m-%d}**.")

history = cached_regime_history(params.db_path, params.version, None, (ticker,)).loc[:day]
regime = history["regime_name"].iloc[-1] if len(history) else None
st.metric("Market regime", regime or "unknown (an input is missing)")

availability = compute_family_availability(features, prices, day)
lacking = availability[availability["status"] != "available"]
if len(lacking):
    lines = [
        f"- **{r.title}**: {r.status} ({r.share:.0%} of its columns); missing {r.missing_inputs}"
        for r in lacking.itertuples()
    ]
    st.info(
        f"Inputs this source lacks for {ticker} on {day:%Y-%m-%d}; those columns stay empty, "
        "nothing is filled in:\n" + "\n".join(lines)
    )

start = day - pd.DateOffset(months=months)
window = prices[prices["date"] >= start]
overlays = compute_overlays(prices).loc[ticker].loc[start:]
st.plotly_chart(
    plot_signal_chart(window, overlays, features.loc[start:], ticker), key="signals.chart"
)

readings = compute_feature_readings(features, day)
flow = readings.set_index("feature")
smi = float(flow.at["smi", "value"])
if pd.notna(smi):
    parts = {
        name: float(flow.at[name, "percentile"])
        for name in ("ifi_20", "cmf_20", "ad_slope_20", "obv_hv_20")
    }
    st.plotly_chart(plot_smi_gauge(smi, interpret_smi(smi), parts), key="signals.smi")
else:
    st.info(
        "Smart Money Index unavailable: it needs high, low and volume, which this source lacks."
    )

st.subheader(f"Feature values on {day:%Y-%m-%d}")
st.caption("Percentile: where today's value sits in this ticker's own history up to this date.")
tabs = st.tabs(readings["family"].unique().tolist())
for tab, (family, rows) in zip(tabs, readings.groupby("family", sort=False), strict=True):
    tab.dataframe(
        rows.drop(columns="family"),
        hide_index=True,
        key=f"signals.table.{family}",
        column_config={
            "value": st.column_config.NumberColumn(format="%.4g"),
            "percentile": st.column_config.ProgressColumn(
                min_value=0, max_value=100, format="%.0f"
            ),
        },
    )

st.subheader("Regime history")
st.plotly_chart(plot_regime_strip(history.loc[start:]), key="signals.regimes")
with st.expander("Regime transition matrix (all stored history up to this date)"):
    st.plotly_chart(plot_transition_matrix(regime_transitions(history)), key="signals.transitions")
