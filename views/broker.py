"""Broker: mirror the paper journal's open orders to an Alpaca paper account, reconcile."""

import streamlit as st

from engine import workflows
from views.components.settings import broker_settings
from views.components.state import global_params
from views.components.tca import render_tca

params = global_params()
st.title("Broker")
settings = broker_settings()
if settings is None:
    st.stop()
if settings.mode == "dry_run":
    st.info(
        "Mode: **dry run**. Mirroring records each order as it would be sent; nothing goes "
        'to the broker. Set `broker_mode = "paper"` and the keys under `[broker]` in '
        ".streamlit/secrets.toml (see README) to use an Alpaca paper account."
    )
else:
    st.caption("Mode: **paper**: orders go to Alpaca's paper endpoint, never a live account.")
st.caption(
    "The local journal on the Paper trading page is the source of truth: the broker mirrors "
    "its open orders under the same client order ids, and nothing it reports is written back."
)
left, right = st.columns(2)
if left.button("Mirror to broker", type="primary", key="broker.mirror"):
    with st.spinner("Mirroring the open orders..."):
        result = workflows.mirror_orders(params.db_path, settings)
    (st.warning if result.failed else st.success)(result.message)
    for line in result.messages:
        st.markdown(f"- {line}")
if right.button("Reconcile", key="broker.reconcile"):
    try:
        with st.spinner("Reading the broker's orders and positions..."):
            st.session_state["broker.report"] = workflows.reconcile_broker(params.db_path, settings)
    except workflows.BrokerError as exc:
        st.error(f"Reconciliation failed: {exc}")

report = st.session_state.get("broker.report")
if report is not None:
    st.subheader("Reconciliation")
    (st.success if report.matches else st.warning)(report.message)
    for line in report.differences:
        st.markdown(f"- {line}")
    if report.account is not None:
        cols = st.columns(3)
        cols[0].metric("Broker equity", f"{report.account.equity:,.0f}")
        cols[1].metric("Broker cash", f"{report.account.cash:,.0f}")
        cols[2].metric("Buying power", f"{report.account.buying_power:,.0f}")
    st.dataframe(report.orders, hide_index=True, key="broker.report_orders")
    st.dataframe(report.positions, hide_index=True, key="broker.report_positions")

st.subheader("Mirrored orders")
mirror = workflows.load_broker_orders(params.db_path)
if mirror.empty:
    st.caption("Nothing mirrored yet: run a paper step, then mirror its open orders.")
else:
    st.dataframe(mirror, hide_index=True, key="broker.mirror_table")
render_tca(params.db_path, params.as_of, "broker")
