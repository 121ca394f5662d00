"""Factors: does the model's out-of-sample ranking order the stocks? An alphalens-style
tear sheet of the run's forecasts, and every feature's own rank IC on the same rows."""

import math

import streamlit as st

from engine import workflows
from engine.display.factors import (
    plot_cumulative_long_short,
    plot_ic_histogram,
    plot_ic_series,
    plot_monthly_ic_heatmap,
    plot_quantile_returns,
    plot_turnover,
)
from engine.workflows.research import ic_block
from views.components.loaders import cached_factor_report, cached_neutralized_ic
from views.components.runs import select_run
from views.components.state import global_params


def shown(value: float, spec: str = ".4f") -> str:
    """``value`` formatted, or "n/a" where it is undefined (NaN)."""
    return format(value, spec) if math.isfinite(value) else "n/a"


def interval(value, *, percent: bool = False) -> str:
    spec = ".2%" if percent else ".4f"
    return f"[{shown(value.low, spec)}, {shown(value.high, spec)}]"


params = global_params()
st.title("Factors")
run = select_run("factors.run")
if run is None:
    st.stop()
left, right = st.columns(2)
quantiles = left.selectbox("Quantiles per date", [3, 5, 10], index=1, key="factors.quantiles")
top_k = right.number_input("Top k names", 1, 50, 5, key="factors.top_k")
try:
    report = cached_factor_report(params.db_path, run.run_id, int(quantiles), int(top_k))
except (workflows.StoreError, ValueError) as exc:
    st.error(f"Cannot read run {run.run_id}: {exc}")
    st.stop()
sheet = report.sheet

st.caption(
    f"Run **{run.run_id}** · {report.forecasts:,} out-of-sample forecasts of "
    f"{report.tickers} tickers on {sheet.dates:,} sessions ({report.first:%Y-%m-%d} to "
    f"{report.last:%Y-%m-%d}). Signal: `{report.signal}`; outcome: {report.target} over "
    f"{report.horizon} sessions. Each date ranks the names the model scored that date; "
    f"{sheet.scored_dates:,} dates have a rank IC (the newest labels have not ended yet)."
)
if sheet.rank_ic.high < 0:
    st.warning(
        "The model ranks the stocks backwards out of sample (the whole rank-IC interval "
        "is below 0): its top names did worse than its bottom names."
    )
elif not sheet.shows_skill:  # the interval contains 0, or there are too few dates for one
    st.warning(
        "The model has shown no skill out of sample: the interval of its mean rank IC "
        "contains 0, so its ranking of the stocks is not evidence of anything. Treat "
        "the ordering on other pages as noise."
    )

cols = st.columns(4)
cols[0].metric(
    "Mean rank IC", shown(sheet.rank_ic.estimate), help=f"95% interval {interval(sheet.rank_ic)}"
)
cols[1].metric("Rank ICIR", shown(sheet.rank_icir, ".3f"))
cols[2].metric("Rank IC t-stat", shown(sheet.rank_ic_t, ".2f"))
cols[3].metric(
    "Top-minus-bottom spread",
    shown(sheet.spread.estimate, ".2%"),
    help=f"95% interval {interval(sheet.spread, percent=True)}, per {report.horizon} sessions",
)
cols = st.columns(4)
cols[0].metric("Top-quantile turnover", shown(sheet.turnover, ".0%"))
cols[1].metric(
    f"Top-{sheet.top_k} hit rate",
    shown(sheet.hit_rate.estimate, ".1%"),
    help=f"Share beating the date's median; 95% interval {interval(sheet.hit_rate, percent=True)}",
)
cols[2].metric("Dates with differing forecasts", shown(sheet.differing_share, ".0%"))
cols[3].metric("Names with a value of their own", shown(sheet.distinct_share, ".0%"))
st.caption(
    f"Rank-IC interval {interval(sheet.rank_ic)}; intervals resample blocks of "
    f"{ic_block(report.horizon)} consecutive dates (whole dates for the hit rate). "
    f"{sheet.dates_without_quantiles} date(s) had too many tied forecasts to cut into "
    f"{sheet.quantiles} quantiles."
)
if sheet.differing_share < 0.5:
    st.info(
        "On most dates the forecasts are the same for every stock: the model times the "
        "market instead of ranking stocks, and there is little to rank."
    )

st.subheader("Information coefficient")
st.plotly_chart(plot_ic_series(sheet.daily["rank_ic"]), key="factors.ic_series")
left, right = st.columns(2)
if sheet.monthly_rank_ic.notna().any().any():
    left.plotly_chart(plot_monthly_ic_heatmap(sheet.monthly_rank_ic), key="factors.monthly")
right.plotly_chart(plot_ic_histogram(sheet.daily["rank_ic"]), key="factors.histogram")

st.subheader("Quantiles")
left, right = st.columns(2)
left.plotly_chart(plot_quantile_returns(sheet.quantile_returns), key="factors.quantiles_chart")
right.plotly_chart(plot_cumulative_long_short(sheet.cumulative), key="factors.cumulative")
st.plotly_chart(plot_turnover(sheet.daily["top_turnover"]), key="factors.turnover")
st.caption(
    "Cumulative long-short: growth of 1 in a book that opens a 1/horizon slice long the top "
    "quantile and short the bottom every date (each date earns spread / horizon), "
    "before costs: not a backtest."
)

st.subheader("Is it just a factor?")
neutral = cached_neutralized_ic(params.db_path, params.version, run.run_id)
number = st.column_config.NumberColumn
ic_format = {c: number(format="%.4f") for c in ("rank_ic", "low", "high")}
st.dataframe(neutral, hide_index=True, key="factors.neutralized", column_config=ic_format)
st.caption(
    "The mean rank IC after each date's scores are neutralized (the residual of their "
    "regression on the exposures known that date, from prices dated on or before it) to "
    "each style, all styles, the sectors and both. A ranking that is only a momentum or "
    "beta bet loses its IC when neutralized to that factor. Intervals as above, "
    "Bonferroni-adjusted over the rows."
)

st.subheader("Each feature as a one-factor signal")
table = report.features
families = sorted(table["family"].unique())
chosen = st.multiselect("Families", families, families, key="factors.families")
rows = table[table["family"].isin(chosen)]
formats = {c: number(format="%.4f") for c in ("mean_rank_ic", "low", "high", "icir")}
formats["t_stat"] = number(format="%.2f")
st.dataframe(rows, hide_index=True, key="factors.features", column_config=formats)
st.caption(
    "Each feature's own per-date rank IC against the same outcome, on the run's "
    "out-of-sample rows. Features that are the same for every stock on a date (index "
    "returns, the regime) cannot rank stocks: they have no IC, not an IC of zero."
)
