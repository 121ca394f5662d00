"""Macro & sentiment: refresh FRED series (with BTC-USD) and Finnhub news and filings."""

import datetime as dt

import pandas as pd
import streamlit as st

from engine import workflows
from views.components.progress import StreamlitProgress
from views.components.state import data_version, global_params


def how_to_configure(env_var: str, source: str, url: str) -> None:
    st.info(
        f"No {source} key is configured. Get a free one at {url}, then set the environment "
        f'variable `{env_var}` before starting the app, or add `{env_var} = "..."` to '
        "`.streamlit/secrets.toml` (the environment wins). Until then these columns stay "
        "empty (NaN) and flagged."
    )


def show_refresh(result: workflows.SourceRefresh, progress: StreamlitProgress) -> None:
    progress.finish(result.message, ok=result.status == "ok")
    (st.success if result.status == "ok" else st.error)(result.message)
    st.dataframe(result.outcomes, hide_index=True, key="sources.outcomes")


@st.cache_data(show_spinner=False, max_entries=8)
def cached_summaries(path: str, version: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    return workflows.load_macro_summary(path), workflows.load_sentiment_summary(path)


params = global_params()
st.title("Macro & sentiment")
st.caption(
    "Keyed live sources for the cross-asset and sentiment families. Everything is stored point "
    "in time: a FRED value counts from the business day after its date (six for the weekly "
    "dollar index), a news item or insider filing from the session after it became public. "
    "Without them (the offline sample has none) those columns are NaN and flagged, never filled."
)
macro_summary, sentiment_summary = cached_summaries(params.db_path, data_version())
macro, news = st.tabs(["Macro (FRED)", "News and insider filings (Finnhub)"])

with macro:
    st.write(
        "10-year and 2-year Treasury yields (DGS10, DGS2), the broad dollar index (DTWEXBGS) "
        "and VIX (VIXCLS) from FRED; BTC-USD from Yahoo Finance (no key)."
    )
    fred_key = workflows.source_key("fred")
    if fred_key is None:
        how_to_configure(
            workflows.FRED_KEY_ENV, "FRED", "https://fred.stlouisfed.org/docs/api/api_key.html"
        )
    include_btc = st.checkbox("Also fetch BTC-USD from Yahoo", True, key="sources.macro.btc")
    if st.button(
        "Refresh macro series", key="sources.macro.run", type="primary", disabled=not fred_key
    ):
        progress = StreamlitProgress("Refreshing macro series")
        result = workflows.refresh_macro(
            params.db_path, fred_key, progress, include_btc=include_btc
        )
        show_refresh(result, progress)
    if macro_summary.empty:
        st.caption("No macro series stored yet.")
    else:
        st.dataframe(macro_summary, hide_index=True, key="sources.macro.summary")

with news:
    st.write(
        "Company news (scored from headlines with a small finance word list) and insider "
        f"transactions (SEC Form 4 filings) of the watchlist **{params.watchlist}**."
    )
    finnhub_key = workflows.source_key("finnhub")
    if finnhub_key is None:
        how_to_configure(workflows.FINNHUB_KEY_ENV, "Finnhub", "https://finnhub.io/register")
    today = dt.date.today()
    start = st.date_input(
        "From", today - dt.timedelta(days=365), max_value=today, key="sources.news.start"
    )
    st.caption(
        f"{len(params.tickers)} ticker(s); Finnhub's free plan allows about 60 requests a "
        "minute and a year of news, asked 30 days at a time."
    )
    if st.button(
        "Refresh news and filings", key="sources.news.run", type="primary", disabled=not finnhub_key
    ):
        progress = StreamlitProgress("Refreshing news and insider filings")
        result = workflows.refresh_sentiment(
            params.db_path, list(params.tickers), finnhub_key, progress, start=pd.Timestamp(start)
        )
        show_refresh(result, progress)
    if sentiment_summary.empty:
        st.caption("No news or insider filings stored yet.")
    else:
        st.dataframe(sentiment_summary, hide_index=True, key="sources.news.summary")
