"""Portfolio: the analyst's holdings with value, P&L, sectors, risk and forecasts as of the
sidebar date, and the double-down check for a losing holding."""

import datetime as dt
from functools import partial

import streamlit as st

from engine import workflows
from engine.display.book import plot_book_vs_index, plot_sector_exposure
from engine.workflows.data import INDEX_TICKER
from views.components.book_risk import render_book_analysis
from views.components.loaders import cached_book
from views.components.state import global_params

params = global_params()
path = params.db_path
st.title("Portfolio")
st.caption(f"Your holdings as of **{params.as_of}**: figures use prices dated on or before it.")
ERRORS = (workflows.BookError, workflows.StoreError)

with st.expander("Add, edit or remove holdings; import or export a CSV"):
    with st.form("portfolio.add", clear_on_submit=True):
        left, mid, right, last = st.columns(4)
        ticker = left.text_input("Ticker", key="portfolio.ticker")
        shares = mid.number_input("Shares", min_value=0.0, value=None, key="portfolio.shares")
        cost = right.number_input(
            "Cost basis", min_value=0.0, value=None, help="per share", key="portfolio.cost"
        )
        opened = last.date_input("Opened", max_value=dt.date.today(), key="portfolio.opened")
        note = st.text_input("Note (optional)", key="portfolio.note")
        if st.form_submit_button("Add holding"):
            try:
                added = workflows.add_holding(path, ticker, shares, cost, opened, note=note)
                st.success(f"Stored {added.shares:g} shares of {added.ticker}.")
            except ERRORS as exc:
                st.error(str(exc))
    if st.button("Load the example holdings (KDK HOOD BA WMT)", key="portfolio.example"):
        added = workflows.load_example_holdings(path)
        st.info(f"Example added (made-up shares and costs): {', '.join(added) or 'none new'}.")
    held = workflows.load_holdings(path)["ticker"].tolist()
    gone, button = st.columns([3, 1])
    chosen = gone.selectbox("Holding to remove", held, key="portfolio.remove_choice")
    if held and button.button("Remove holding", key="portfolio.remove"):
        workflows.remove_holding(path, chosen)
        st.rerun()
    upload = st.file_uploader(
        "Import a CSV (ticker, shares, cost_basis, opened, note): replaces every holding",
        type=["csv"],
        key="portfolio.csv",
    )
    if upload is not None and st.button("Import holdings", key="portfolio.import"):
        try:
            count = workflows.import_holdings_csv(path, upload.getvalue())
            st.success(f"Imported {count} holdings.")
        except ERRORS as exc:
            st.error(f"Nothing imported: {exc}")
    st.download_button(
        "Export holdings as CSV",
        workflows.export_holdings_csv(path),
        file_name="holdings.csv",
        key="portfolio.export",
    )

active = workflows.active_run(path)  # with the holdings as stored, the cache key
holdings = workflows.load_holdings(path)
book = cached_book(path, params.version, params.as_of, holdings, active and active.run_id)
if book.holdings.empty:
    st.info("No holdings yet: add one above, import a CSV, or load the example.")
    st.stop()
if book.holdings["example"].any():
    st.warning(
        "Rows marked **example** are made up (the seed portfolio with invented shares and "
        "costs), not your data: edit or remove them."
    )
for note in book.notes:
    st.warning(note)

totals = book.totals
columns = st.columns(4)
columns[0].metric("Market value", f"{totals['value']:,.2f}")
columns[1].metric("P&L", f"{totals['pnl']:+,.2f}")
columns[2].metric("P&L %", f"{totals['pnl_pct']:+.2%}")
columns[3].metric("Market regime", book.regime_name)

table = book.holdings.drop(columns=["volatility"]).join(book.forecasts, on="ticker")
percent = st.column_config.NumberColumn(format="percent")
config = {"pnl_pct": percent, "weight": percent, "p_up": st.column_config.NumberColumn(book.event)}
st.dataframe(table, hide_index=True, column_config=config, key="portfolio.holdings")
if book.forecasts.empty:
    st.info(f"No forecasts: {book.forecast_note}.")
else:
    (st.success if book.skill.shown else st.warning)(book.skill.text)
    st.caption(f"Forecasts: {book.forecast_note}.")

if not book.sectors.empty:
    st.plotly_chart(plot_sector_exposure(book.sectors), key="portfolio.sectors")
st.subheader("Risk")
if book.risk is None:
    st.info("Too few daily closes shared by the valued holdings for risk figures (20 needed).")
else:
    risk = book.risk
    cols = st.columns(3)
    cols[0].metric("Annualized volatility", f"{risk.volatility:.1%}")
    cols[1].metric(f"Beta to {INDEX_TICKER}", f"{risk.beta:.2f}")
    cols[2].metric("Max drawdown", f"{risk.max_drawdown:.1%}")
    st.dataframe(risk.table, hide_index=True, key="portfolio.var")
    st.caption(
        f"1-day VaR and CVaR over the last {risk.returns} daily returns of today's shares "
        "(historical: the ceil(n(1-a))-th worst return; parametric: normal). Positive = a loss."
    )
    st.plotly_chart(plot_book_vs_index(book.value, book.index, INDEX_TICKER), key="portfolio.vs")
    st.download_button(
        "Download report (HTML)",
        partial(workflows.holdings_report_html, book),  # built when clicked
        file_name="holdings_report.html",
        mime="text/html",
        key="portfolio.report",
    )

render_book_analysis(None, book.stress, book.attribution, "portfolio")

st.subheader("Double-down check")
losing = book.holdings.loc[book.holdings["pnl"] < 0, "ticker"].tolist()
if not losing:
    st.caption("No valued holding is losing: nothing to double down on.")
    st.stop()
with st.form("portfolio.double_down"):
    left, mid, right = st.columns(3)
    pick = left.selectbox("Losing holding", losing, key="portfolio.dd_ticker")
    amount = mid.number_input(
        "Amount to add", min_value=0.0, value=1000.0, key="portfolio.dd_amount"
    )
    cash = right.number_input("Cash beside the holdings", min_value=0.0, key="portfolio.dd_cash")
    first, second = st.columns(2)
    rule = workflows.DoubleDownParams  # the sliders start at its defaults
    floor = first.slider(
        "Min rank percentile", 0.0, 1.0, rule.min_percentile, key="portfolio.dd_percentile"
    )
    min_p = second.slider(f"Min {book.event}", 0.0, 1.0, rule.min_p, key="portfolio.dd_p")
    if st.form_submit_button("Check double-down"):
        try:
            thresholds = workflows.DoubleDownParams(floor, min_p)
            verdict = workflows.double_down(book, pick, amount, cash, thresholds)
        except ERRORS as exc:
            st.error(str(exc))
        else:
            (st.success if verdict.allowed else st.warning)(verdict.text)
            for check in verdict.checks:
                st.markdown(f"{'✅' if check.ok else '❌'} **{check.name}**: {check.text}")
