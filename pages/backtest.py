"""Backtest: a model's out-of-sample forecasts, sized and traded with costs, vs benchmarks."""

import streamlit as st

from engine import workflows
from engine.display.trading import plot_equity_curves
from engine.trading.backtest import BacktestConfig, CostModel
from engine.trading.sizing import SizingParams
from pages.common import global_params, select_run, statistics_table

params = global_params()
st.title("Backtest")
run = select_run("backtest.run")
if run is None:
    st.stop()
st.caption(
    "Signals are the run's walk-forward out-of-sample P(up) only. A decision at a close trades "
    "on the next session; costs are never zero. Every backtest you run is counted as a trial "
    "in the Deflated Sharpe."
)
with st.form("backtest.form"):
    c1, c2, c3, c4 = st.columns(4)
    execution = c1.selectbox("Execution", ["next_open", "next_close"], key="backtest.execution")
    per_share = c2.number_input(
        "Commission per share", 0.0, 0.1, 0.005, 0.001, format="%.3f", key="backtest.per_share"
    )
    minimum = c3.number_input("Minimum commission", 0.0, 20.0, 1.0, key="backtest.minimum")
    spread = c4.number_input("Half-spread (bps)", 0.0, 100.0, 5.0, key="backtest.spread")
    c1, c2, c3, c4 = st.columns(4)
    impact = c1.number_input("Impact coefficient", 0.0, 2.0, 0.1, key="backtest.impact")
    kelly = c2.number_input("Kelly fraction", 0.05, 1.0, 0.25, 0.05, key="backtest.kelly")
    cap = c3.number_input("Max weight per ticker", 0.01, 0.5, 0.05, 0.01, key="backtest.cap")
    long_short = c4.checkbox("Long-short", key="backtest.long_short")
    estimated = st.checkbox(
        "Half-spread from the Corwin-Schultz estimate where high/low exist", key="backtest.cs"
    )
    submitted = st.form_submit_button("Run backtest", type="primary")

if submitted:
    try:
        costs = CostModel(
            commission_per_share=per_share,
            commission_min=minimum,
            half_spread_bps=spread,
            impact_coefficient=impact,
        )
        sizing = SizingParams(kelly_fraction=kelly, max_weight=cap, long_short=long_short)
        with st.spinner("Sizing the forecasts and simulating..."):
            st.session_state["backtest.result"] = workflows.run_model_backtest(
                params.db_path,
                run.run_id,
                config=BacktestConfig(execution, costs=costs),
                corwin_schultz_spread=estimated,
                sizing=sizing,
            )
    except (ValueError, workflows.StoreError) as exc:
        st.error(str(exc))

outcome = st.session_state.get("backtest.result")
if outcome is None or outcome.run_id != run.run_id:
    st.info("Set the costs and press Run backtest.")
    st.stop()
stats = outcome.statistics
cols = st.columns(5)
cols[0].metric(
    "Sharpe",
    f"{stats['sharpe'].estimate:.2f}",
    help=f"95%: [{stats['sharpe'].low:.2f}, {stats['sharpe'].high:.2f}]",
)
cols[1].metric("CAGR", f"{stats['cagr'].estimate:.1%}")
cols[2].metric("Max drawdown", f"{stats['max_drawdown'].estimate:.1%}")
cols[3].metric(
    "Deflated Sharpe", f"{stats['dsr']:.2f}", help="P(true Sharpe > the best of the trials by luck)"
)
cols[4].metric("Trials counted", outcome.n_trials)
if stats["sharpe"].low <= 0 <= stats["sharpe"].high:
    st.warning("The Sharpe ratio's 95% interval includes 0: no evidence of an edge after costs.")
curves = {"strategy": outcome.result.equity, **outcome.benchmarks}
st.plotly_chart(plot_equity_curves(curves), key="backtest.equity")
left, right = st.columns([3, 2])
left.dataframe(statistics_table(stats), hide_index=True, key="backtest.stats")
right.dataframe(outcome.result.costs.sum().rename("total cost").to_frame(), key="backtest.costs")
st.download_button(
    "Trades as CSV",
    outcome.result.trades.to_csv(index=False).encode(),
    file_name=f"trades_{run.run_id}.csv",
    mime="text/csv",
    key="backtest.download",
)
