"""Paper trading: run the daily step, follow equity, positions, orders and fills."""

from functools import partial

import pandas as pd
import streamlit as st

from engine import workflows
from engine.display.trading import plot_equity_curves
from views.components.book_risk import render_book_analysis
from views.components.guardrails import render_guardrails
from views.components.loaders import cached_prices
from views.components.settings import alert_settings
from views.components.state import global_params
from views.components.tca import render_tca

params = global_params()
st.title("Paper trading")
as_of = pd.Timestamp(params.as_of)
if st.button(f"Run the step for {params.as_of}", type="primary", key="paper.step"):
    try:
        with st.spinner("Filling, marking, checking guardrails, forecasting..."):
            result = workflows.paper_step(
                params.db_path, as_of, list(params.tickers), alerts=alert_settings()
            )
    except (ValueError, workflows.StoreError) as exc:
        st.error(str(exc))
    else:
        show = {"done": st.success, "already done": st.info}.get(result.status, st.error)
        show(result.message)
        if result.guardrail:
            st.warning(f"Guardrail: {result.guardrail}")
        if result.refused:
            st.warning(f"{result.refused} order(s) refused by a pre-trade check (journal).")
try:
    state = workflows.load_paper_state(params.db_path, as_of)
except workflows.StoreError:
    cash = workflows.PaperParams.initial_cash  # the default a first step opens with
    st.info(f"No paper account yet: run a first step (it opens the account with ${cash:,.0f}).")
    st.stop()

account, steps = state.account, state.steps
if state.run is None:
    st.caption(f"No active model run · as of **{params.as_of}**")
else:
    st.caption(
        f"Model run **{state.run.run_id}** · trained through **{state.trained_through:%Y-%m-%d}** "
        f"(its newest outcome) · as of **{params.as_of}**"
    )
render_guardrails(params.db_path, as_of)
held, equity, initial = state.positions, state.equity, account.initial_cash
cols = st.columns(4)
cols[0].metric("Equity", f"{equity:,.0f}")
cols[1].metric("Cash", f"{state.cash:,.0f}")
pnl = state.pnl_today  # the review page's figure: one rule
cols[2].metric("P&L today", pnl.text, help=pnl.note or f"session {pnl.session:%Y-%m-%d}")
cols[3].metric("P&L since start", f"{equity - initial:+,.0f}", f"{equity / initial - 1:+.2%}")

if len(steps) > 1:
    curve = steps.set_index("step_date")["equity"]
    prices = cached_prices(params.db_path, params.version, tuple(params.tickers))
    watched = prices[prices["date"] <= as_of].pivot(index="date", columns="ticker", values="close")
    watched = watched.loc[curve.index.min() :]
    benchmark = (watched / watched.iloc[0]).mean(axis=1) * initial
    st.plotly_chart(
        plot_equity_curves({"paper account": curve, "watchlist, equal weight": benchmark}),
        key="paper.equity",
    )

    if len(steps) >= workflows.MIN_REPORT_VALUES:
        st.download_button(
            "Download report (HTML)",
            partial(workflows.paper_report_html, params.db_path),  # built when clicked
            file_name="paper_report.html",
            mime="text/html",
            key="paper.report",
        )
    else:
        st.caption(f"The report needs {workflows.MIN_REPORT_VALUES} steps or more.")

st.subheader("Positions")
st.dataframe(held, hide_index=True, key="paper.positions")
if st.toggle("Analyse the book: regimes, sectors, factors, stress", key="paper.analyse"):
    book = workflows.paper_book_risk(params.db_path, as_of)
    render_book_analysis(book.breakdown, book.stress, book.attribution, "paper")

st.subheader("Journal")
orders, fills = state.orders, state.fills
# an order's quantity is indicative; the fill's is what the execution model traded, at a
# price that includes the half-spread and impact listed beside the commission (fees)
filled = fills[
    ["client_order_id", "fill_date", "reason", "quantity", "price", "fees", "spread", "impact"]
]
journal = orders.merge(
    filled.rename(columns={"quantity": "filled"}), on="client_order_id", how="left"
)
c1, c2 = st.columns(2)
status = c1.multiselect(  # refused: cancelled by a pre-trade check, its name in refused_by
    "Status", ["open", "filled", "cancelled"], ["open", "filled"], key="paper.status"
)
ticker = c2.text_input("Ticker contains", key="paper.ticker").strip().upper()
shown = journal[journal["status"].isin(status)]
if ticker:
    shown = shown[shown["ticker"].str.contains(ticker, regex=False)]
st.dataframe(
    shown.sort_values("created_utc", ascending=False), hide_index=True, key="paper.journal"
)
st.download_button(
    "Journal as CSV",
    shown.to_csv(index=False).encode(),
    file_name="paper_journal.csv",
    mime="text/csv",
    key="paper.download",
)
if len(journal):
    with st.form("paper.note_form"):
        order_id = st.selectbox("Order", journal["client_order_id"], key="paper.note_order")
        note = st.text_input("Note", key="paper.note")
        if st.form_submit_button("Save note"):
            workflows.set_order_note(params.db_path, order_id, note)
            st.rerun()
if not state.replay_matches:
    st.error("The journal's replay does not match the stored positions and cash.")
else:
    st.caption("Replaying the journal rebuilds these positions and this cash exactly.")
render_tca(params.db_path, params.as_of, "paper")
