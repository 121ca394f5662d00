"""Watchlists with their membership history (the Data page) and the point-in-time
universe of the training window (Data and Training pages). UI only."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from engine import workflows
from engine.workflows.data import InvalidTickerError, parse_tickers
from views.components.state import GlobalParams


def training_window(params: GlobalParams) -> tuple[dt.date, dt.date]:
    """The Training page's window: its last values, else five years to the as-of date."""
    start = st.session_state.get("training.start", params.as_of - dt.timedelta(days=5 * 365))
    return start, st.session_state.get("training.as_of", params.as_of)


def universe_caption(universe: workflows.UniverseWindow, name: str) -> str:
    """Who joined and left ``name`` in the window, and how many tickers were members at
    some point of it vs today."""
    return (
        f"Watchlist **{name}**: {universe.added} added, {universe.removed} removed between "
        f"{universe.start:%Y-%m-%d} and {universe.end:%Y-%m-%d}; {len(universe.tickers)} "
        f"tickers were members at some point of it, {len(universe.current)} are members "
        "today. Each counts on the dates it was a member only."
    )


def _history(membership: pd.DataFrame) -> pd.DataFrame:
    return membership.assign(
        added=membership["added"].dt.strftime("%Y-%m-%d").fillna("since its data starts"),
        removed=membership["removed"].dt.strftime("%Y-%m-%d").fillna("still a member"),
    )


def _record_change(params: GlobalParams, name: str) -> None:
    with st.form("data.lists.change"):
        c1, c2 = st.columns(2)
        ticker = c1.text_input("Ticker", key="data.lists.change.ticker")
        today = dt.date.today()
        day = c2.date_input(
            "On (its first day in or out)", today, max_value=today, key="data.lists.change.date"
        )
        c1, c2 = st.columns(2)
        left = c1.form_submit_button("Record that it left")
        joined = c2.form_submit_button("Record that it joined")
    if not (left or joined):
        return
    change = workflows.remove_from_watchlist if left else workflows.add_to_watchlist
    try:
        clean = change(params.db_path, name, ticker, day)
    except (InvalidTickerError, workflows.WatchlistError) as exc:
        st.error(str(exc))
    else:
        st.success(f"Recorded: {clean} {'left' if left else 'joined'} {name!r} on {day}")


def render_membership(params: GlobalParams, name: str) -> None:
    """Record a join or a removal with its date, then the history and the training
    window's changes."""
    _record_change(params, name)
    start, end = training_window(params)
    if start < end:
        universe = workflows.load_universe(params.db_path, name, start, end)
        st.caption(f"The training window. {universe_caption(universe, name)}")
    history = workflows.load_membership(params.db_path, name)
    st.dataframe(_history(history), hide_index=True, key="data.lists.history")


def render_watchlists(params: GlobalParams) -> None:
    """The watchlist editor: saving records who joined and who left today (a new list's
    members count since their data starts); a removal keeps the ticker's history."""
    existing = workflows.load_watchlists(params.db_path)
    st.dataframe(existing, hide_index=True, key="data.lists.table")
    options = ["(new watchlist)", *existing["name"]]
    pick = st.selectbox("Edit", options, key="data.lists.pick")
    row = existing[existing["name"] == pick]
    name = st.text_input("Name", "" if row.empty else pick, key=f"data.lists.name.{pick}")
    members = "" if row.empty else row["tickers"].iloc[0] or ""
    tickers = st.text_area("Watchlist tickers", members, key=f"data.lists.tickers.{pick}")
    save, delete = st.columns(2)
    if save.button("Save watchlist", key="data.lists.save"):
        try:
            clean = workflows.save_watchlist(params.db_path, name, parse_tickers(tickers))
            st.success(f"Saved {name!r} with {len(clean)} ticker(s)")
        except (InvalidTickerError, workflows.WatchlistError) as exc:
            st.error(str(exc))
    if not row.empty and delete.button("Delete watchlist", key="data.lists.delete"):
        workflows.delete_watchlist(params.db_path, pick)
        st.success(f"Deleted {pick!r}; the prices of its tickers are kept")
    elif not row.empty:
        render_membership(params, pick)
