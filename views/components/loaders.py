"""Cached loaders of the pages, keyed by small arguments.

Loaders of data that changes take ``version`` (the store's data version), so a write from
any process shows up on the next rerun without clearing caches by hand; a finished run
never changes, so its reports are keyed by the run alone.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from engine import workflows
from engine.workflows.modeling import Thresholds
from engine.workflows.research import DriftThresholds


@st.cache_data(show_spinner=False, max_entries=64)
def cached_freshness(path: str, version: int, as_of: dt.date, tickers: tuple[str, ...] | None):
    """Coverage and staleness (see workflows.load_freshness)."""
    return workflows.load_freshness(path, pd.Timestamp(as_of), tickers)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_prices(path: str, version: int, tickers: tuple[str, ...]) -> pd.DataFrame:
    """Stored prices of ``tickers``."""
    return workflows.load_prices(path, list(tickers))


@st.cache_data(show_spinner=False, max_entries=32)
def cached_prices_as_of(
    path: str, version: int, as_of: dt.date | None, tickers: tuple[str, ...]
) -> pd.DataFrame:
    """Stored prices of ``tickers`` dated <= ``as_of`` (None: all) from their snapshot,
    which a page showing their features, forecasts or regime reads anyway."""
    return workflows.build_snapshot(path, tickers, as_of and pd.Timestamp(as_of)).prices


@st.cache_data(show_spinner="Reading the files...", max_entries=8)
def cached_import_preview(
    file_ids: tuple[str, ...],
    _files: list[tuple[str, bytes]],
    mapping: dict[str, str | None] | None,
    date_format: str | None,
) -> pd.DataFrame:
    """What importing the uploaded ``_files`` would do (see workflows.preview_imports);
    keyed by their upload ids, not their bytes."""
    return workflows.preview_imports(_files, mapping=mapping, date_format=date_format)


@st.cache_data(show_spinner="Loading features...", max_entries=32)
def cached_features(path: str, version: int, tickers: tuple[str, ...]) -> pd.DataFrame:
    """Every feature family of ``tickers`` by (ticker, date), cache built where missing."""
    return workflows.load_features(path, list(tickers))


@st.cache_data(show_spinner="Classifying market regimes...", max_entries=8)
def cached_regime_history(
    path: str, version: int, as_of: dt.date | None, tickers: tuple[str, ...]
) -> pd.DataFrame:
    """The 12-state regime by date, dates <= ``as_of`` (None: all). It is the market's
    whatever the tickers: a page names those it reads anyway, so both come from one
    snapshot (one read of the market, see workflows.build_snapshot)."""
    return workflows.build_snapshot(path, tickers, as_of and pd.Timestamp(as_of)).regimes


@st.cache_data(show_spinner="Forecasting...", max_entries=32)
def cached_forecasts(
    path: str,
    *,
    version: int,
    run_id: str,
    as_of: dt.date,
    tickers: tuple[str, ...],
    buy: float = Thresholds.buy,  # a dataclass field's default is its class attribute
    sell: float = Thresholds.sell,
) -> pd.DataFrame:
    """Forecasts with reasons (see workflows.forecast); keyed by data version and run."""
    snapshot = workflows.build_snapshot(path, tickers, pd.Timestamp(as_of))
    return workflows.forecast(
        path, snapshot, run_id=run_id, thresholds=Thresholds(buy=buy, sell=sell)
    )


@st.cache_data(show_spinner="Scoring the calibration methods...", max_entries=8)
def cached_calibration_report(path: str, run_id: str) -> workflows.CalibrationReport:
    """A run's calibration report (a finished run never changes)."""
    return workflows.calibration_report(path, run_id)


@st.cache_data(show_spinner="Scoring the run's ranking and every feature...", max_entries=8)
def cached_factor_report(
    path: str, run_id: str, quantiles: int, top_k: int
) -> workflows.FactorReport:
    """A run's factor report (a finished run never changes; see workflows.factors)."""
    return workflows.factor_report(path, run_id, quantiles=quantiles, top_k=top_k)


@st.cache_data(show_spinner="Neutralizing the scores to the risk factors...", max_entries=8)
def cached_neutralized_ic(path: str, version: int, run_id: str) -> pd.DataFrame:
    """A run's rank IC raw and neutralized (see workflows.neutralized_ic); the exposures
    read stored prices, hence the store's version."""
    return workflows.neutralized_ic(path, run_id)


@st.cache_data(show_spinner="Comparing recent data with the training baseline...", max_entries=16)
def cached_monitor_report(
    path: str,
    *,
    version: int,
    run_id: str,
    as_of: dt.date,
    window: int,
    thresholds: tuple[float, ...],
) -> workflows.MonitorReport:
    """The drift monitor's report (see workflows.monitor_model); keyed by data version and
    the DriftThresholds' values."""
    limits = DriftThresholds(*thresholds)
    return workflows.monitor_model(
        path, pd.Timestamp(as_of), run_id=run_id, window=window, thresholds=limits
    )


@st.cache_data(show_spinner="Valuing the holdings...", max_entries=8)
def cached_book(
    path: str, version: int, as_of: dt.date, holdings: pd.DataFrame, run_id: str | None
) -> workflows.BookReport:
    """The book at ``as_of`` (see workflows.load_book); keyed by the data version, the
    holdings as stored and the active run, so any of them changing is a fresh book."""
    return workflows.load_book(path, pd.Timestamp(as_of))


@st.cache_data(show_spinner="Checking the re-entry conditions...", max_entries=8)
def cached_reentry_watch(
    path: str,
    version: int,
    as_of: dt.date,
    conditions: tuple,
    run_id: str | None,
) -> workflows.ReentryReport:
    """The re-entry watch at ``as_of`` (see workflows.reentry_watch); keyed by the data
    version, the conditions as stored (workflows.load_reentry_conditions) and the active
    run."""
    return workflows.reentry_watch(path, pd.Timestamp(as_of))
