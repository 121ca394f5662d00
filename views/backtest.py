"""Backtest: a model's out-of-sample forecasts, sized and traded with costs, vs benchmarks."""

from functools import partial

import streamlit as st

from engine import workflows
from engine.display.trading import plot_equity_curves
from engine.workflows import BacktestConfig, ConstructionParams, CostModel, SizingParams
from views.components.book_risk import render_book_analysis
from views.components.construction_form import construction_inputs
from views.components.inputs import bounded_input
from views.components.runs import select_run
from views.components.state import global_params
from views.components.statistics import statistics_table

params = global_params()
st.title("Backtest")
run = select_run("backtest.run")
if run is None:
    st.stop()
st.caption(
    "Signals are the run's walk-forward out-of-sample forecasts only (its score where it has "
    "one, else P(up)). A decision at a close trades on the next session; costs are never "
    "zero. Every backtest you run is counted as a trial in the Deflated Sharpe."
)
stored, fee, size = workflows.run_construction(run), CostModel(), SizingParams()  # the defaults
limit = {**workflows.COST_LIMITS, **workflows.SIZING_LIMITS}
with st.form("backtest.form"):
    chosen = construction_inputs(stored, "backtest")
    c1, c2, c3, c4 = st.columns(4)
    execution = c1.selectbox("Execution", ["next_open", "next_close"], key="backtest.execution")
    per_share = bounded_input(
        c2, "Commission per share", limit["commission_per_share"], fee.commission_per_share,
        0.001, format="%.3f", key="backtest.per_share",
    )  # fmt: skip
    minimum = bounded_input(c3, "Minimum commission", limit["commission_min"],
        fee.commission_min, key="backtest.minimum")  # fmt: skip
    spread = bounded_input(c4, "Half-spread (bps)", limit["half_spread_bps"],
        fee.half_spread_bps, key="backtest.spread")  # fmt: skip
    c1, c2, c3, c4 = st.columns(4)
    impact = bounded_input(c1, "Impact coefficient", limit["impact_coefficient"],
        fee.impact_coefficient, key="backtest.impact")  # fmt: skip
    kelly = bounded_input(c2, "Kelly fraction", limit["kelly_fraction"], size.kelly_fraction,
        0.05, key="backtest.kelly")  # fmt: skip
    cap = bounded_input(c3, "Max weight per ticker", limit["max_weight"], size.max_weight, 0.01,
        key="backtest.cap")  # fmt: skip
    long_short = c4.checkbox("Long-short", size.long_short, key="backtest.long_short")
    estimated = st.checkbox(
        "Half-spread from the Corwin-Schultz estimate where high/low exist", key="backtest.cs"
    )
    submitted = st.form_submit_button("Run backtest", type="primary")

if submitted:
    try:
        costs = CostModel(
            commission_per_share=per_share, commission_min=minimum, half_spread_bps=spread,
            impact_coefficient=impact,
        )  # fmt: skip
        sizing = SizingParams(kelly_fraction=kelly, max_weight=cap, long_short=long_short)
        construction = ConstructionParams(**chosen)
        with st.spinner("Sizing the forecasts and simulating..."):
            st.session_state["backtest.result"] = workflows.run_model_backtest(
                params.db_path,
                run.run_id,
                config=BacktestConfig(execution, costs=costs),
                corwin_schultz_spread=estimated,
                sizing=sizing,
                construction=construction,
            )
    except (ValueError, workflows.StoreError) as exc:
        st.error(str(exc))

outcome = st.session_state.get("backtest.result")
if outcome is None or outcome.run_id != run.run_id:
    st.info("Set the costs and press Run backtest.")
    st.stop()
stats = outcome.statistics
st.caption(f"Construction: {outcome.construction}")
cols = st.columns(6)
cols[0].metric(
    "Sharpe",
    f"{stats['sharpe'].estimate:.2f}",
    help=f"95%: [{stats['sharpe'].low:.2f}, {stats['sharpe'].high:.2f}]",
)
cols[1].metric("CAGR", f"{stats['cagr'].estimate:.1%}")
cols[2].metric("Max drawdown", f"{stats['max_drawdown'].estimate:.1%}")
cols[3].metric(
    "Deflated Sharpe",
    f"{stats['dsr']:.2f}",
    help=f"P(true Sharpe > the best of {outcome.n_trials} trials by luck)",
)
cols[4].metric("Turnover / year", f"{stats['turnover']:.1f}x")
cols[5].metric("Total costs", f"{stats['costs']:,.0f}")
cols = st.columns(5)
for at, (key, name) in enumerate([("universe", "equal-weight universe"), ("index", "index")]):
    if f"ir_{key}" in stats:
        excess, ir = stats[f"excess_{key}"], stats[f"ir_{key}"]
        band = f"95%: [{excess.low:.1%}, {excess.high:.1%}]"
        cols[2 * at].metric(f"Excess vs {name} / year", f"{excess.estimate:.1%}", help=band)
        band = f"95%: [{ir.low:.2f}, {ir.high:.2f}]"
        cols[2 * at + 1].metric(f"Information ratio vs {name}", f"{ir.estimate:.2f}", help=band)
cols[4].metric("Trials counted", outcome.n_trials, help="Every backtest, ablation and tuning trial")
if outcome.tuning_trials:
    st.caption(f"{outcome.tuning_trials} tuning trials chose this run's settings (counted above).")
if stats["sharpe"].low <= 0 <= stats["sharpe"].high:
    st.warning("The Sharpe ratio's 95% interval includes 0: no evidence of an edge after costs.")
if stats["dsr"] < 0.95:
    st.warning(f"Deflated Sharpe {stats['dsr']:.2f} over {outcome.n_trials} trials: not skill.")
if st.button("Use for paper trading", key="backtest.use_for_paper"):
    workflows.set_run_construction(params.db_path, run.run_id, outcome.construction)
    st.success(f"The paper step trades run {run.run_id} with {outcome.construction.method}.")
st.plotly_chart(plot_equity_curves({"strategy": outcome.result.equity, **outcome.benchmarks}),
    key="backtest.equity")  # fmt: skip
left, right = st.columns([3, 2])
left.dataframe(statistics_table(stats), hide_index=True, key="backtest.stats")
right.dataframe(outcome.result.costs.sum().rename("total cost").to_frame(), key="backtest.costs")
render_book_analysis(outcome.breakdown, outcome.stress, outcome.attribution, "backtest")
st.download_button(
    "Download report (HTML)",
    partial(workflows.backtest_report_html, outcome),  # built when clicked
    file_name=f"backtest_{run.run_id}.html",
    mime="text/html",
    key="backtest.report",
)
st.download_button("Trades as CSV", outcome.result.trades.to_csv(index=False).encode(),
    file_name=f"trades_{run.run_id}.csv", mime="text/csv", key="backtest.download")  # fmt: skip
