"""The global sidebar and the session state every page reads.

app.py draws the frame (first-start seeding, the sidebar) before it runs a page; a page
reads the sidebar's choice with ``global_params()``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from engine import workflows
from engine.workflows.data import MARKET_SOURCES
from views.components.loaders import cached_freshness

PARAMS_KEY = "global.params"


@dataclass(frozen=True)
class GlobalParams:
    """What the sidebar selects for every page."""

    db_path: str
    watchlist: str
    tickers: tuple[str, ...]
    as_of: dt.date
    source: str
    version: int  # the store's data version when the sidebar was drawn


def db_path() -> str:
    """The store this app instance uses ($WORKBENCH_DB or the repo default)."""
    return workflows.store_path()


def data_version() -> int:
    """Uncached: changes whenever a batch is stored."""
    return workflows.data_version(db_path())


def ensure_store() -> None:
    """Build the store from the offline sample on first start (a no-op afterwards)."""
    if st.session_state.get("global.seeded"):
        return
    with st.spinner("First start: building the store from the offline sample data..."):
        workflows.ensure_seeded(db_path())
    st.session_state["global.seeded"] = True


def render_sidebar() -> GlobalParams:
    """Watchlist, as-of date and data source; the choice is kept for every page."""
    path = db_path()
    version = data_version()
    watchlists = workflows.load_watchlists(path)
    names = watchlists["name"].tolist()
    default = (
        names.index(workflows.DEFAULT_WATCHLIST) if workflows.DEFAULT_WATCHLIST in names else 0
    )
    with st.sidebar:
        watchlist = st.selectbox("Watchlist", names, index=default, key="global.watchlist")
        coverage = cached_freshness(path, version, dt.date.today(), None)
        first, latest = coverage["first_date"].min(), coverage["last_date"].max()
        default_as_of = latest.date() if pd.notna(latest) else dt.date.today()
        as_of = st.date_input(
            "As-of date",
            value=default_as_of,
            min_value=first.date() if pd.notna(first) else None,
            max_value=dt.date.today(),
            key="global.as_of",
            help="Every page uses data dated on or before this day only.",
        )
        source = st.selectbox(
            "Data source",
            list(MARKET_SOURCES),
            format_func=MARKET_SOURCES.get,
            key="global.source",
        )
        st.caption(f"Database: `{path}`")
    tickers = tuple(workflows.load_watchlist(path, watchlist)) if watchlist else ()
    params = GlobalParams(path, watchlist or "", tickers, as_of, source, version)
    st.session_state[PARAMS_KEY] = params
    return params


def render_frame() -> GlobalParams:
    """What every page shares: first-start seeding and the global sidebar (app.py)."""
    ensure_store()
    return render_sidebar()


def global_params() -> GlobalParams:
    """The sidebar's choice for this run; pages call this first."""
    return st.session_state[PARAMS_KEY]
