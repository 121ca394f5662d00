"""Scenarios: how would a model trained before a crisis have traded through it?"""

import pandas as pd
import streamlit as st

from engine import workflows
from engine.display.signals import plot_regime_strip
from engine.display.trading import plot_equity_curves
from engine.workflows.research import SCENARIOS, Scenario, covered
from views.components.loaders import cached_freshness
from views.components.state import global_params
from views.components.statistics import statistics_table

params = global_params()
st.title("Scenarios")
if not params.tickers:
    st.info("This watchlist is empty: add tickers on the Data page.")
    st.stop()
coverage = cached_freshness(params.db_path, params.version, params.as_of, params.tickers)
first, last = coverage["first_date"].min(), coverage["last_date"].max()
years = st.slider("Years of training data before the window", 2, 10, 5, key="scenarios.years")
options = [s.name for s in covered(first, last, years)] + ["Custom dates"]
choice = st.selectbox("Scenario", options, key="scenarios.choice")
if choice == "Custom dates":
    c1, c2 = st.columns(2)
    start = c1.date_input(
        "Start",
        last.date() - pd.Timedelta(days=120),
        min_value=first.date(),
        max_value=last.date(),
        key="scenarios.start",
    )
    end = c2.date_input(
        "End", last.date(), min_value=first.date(), max_value=last.date(), key="scenarios.end"
    )
    scenario = Scenario("Custom", pd.Timestamp(start), pd.Timestamp(end), "chosen dates")
else:
    scenario = SCENARIOS[choice]
st.caption(
    f"{scenario.description}: {scenario.start:%Y-%m-%d} to {scenario.end:%Y-%m-%d}. The model is "
    f"fitted on the {years} years before the window, on labels whose outcome was known before "
    "it started; it never sees the window or anything after it."
)
if st.button("Replay", type="primary", key="scenarios.run"):
    if scenario.start >= scenario.end:
        st.error("The start must come before the end.")
        st.stop()
    try:  # every ticker the watchlist ever held, each on its member dates
        universe = workflows.load_universe(params.db_path, params.watchlist)
        with st.spinner("Training before the window, then trading through it..."):
            st.session_state["scenarios.result"] = workflows.run_scenario(
                params.db_path,
                scenario,
                list(universe.tickers),
                history_years=years,
                n_boot=200,
                membership=universe.membership,
            )
    except (ValueError, workflows.StoreError) as exc:
        st.error(str(exc))
        st.stop()
result = st.session_state.get("scenarios.result")
if result is None or result.scenario != scenario:
    st.info("Choose a window and press Replay.")
    st.stop()

stats = result.statistics
cols = st.columns(4)
cols[0].metric(
    "Return", f"{result.backtest.equity.iloc[-1] / result.backtest.equity.iloc[0] - 1:+.1%}"
)
cols[1].metric("Max drawdown", f"{stats['max_drawdown'].estimate:.1%}")
cols[2].metric("Sharpe", f"{stats['sharpe'].estimate:.2f}")
cols[3].metric("Hit rate", f"{result.hit_rate:.1%}")
st.caption(f"Model trained on outcomes known through {result.trained_through:%Y-%m-%d}.")
if result.checks:
    st.subheader("The seeds' pass criteria")
    for check in result.checks:
        show = st.success if check["passed"] else st.error
        show(
            f"{'PASS' if check['passed'] else 'FAIL'}: {check['criterion']} (was {check['value']})"
        )
st.plotly_chart(
    plot_equity_curves({"strategy": result.backtest.equity, **result.benchmarks}),
    key="scenarios.equity",
)
if len(result.regimes):
    st.subheader("Regime timeline")
    st.plotly_chart(plot_regime_strip(result.regimes), key="scenarios.regimes")
st.dataframe(statistics_table(stats), hide_index=True, key="scenarios.stats")
