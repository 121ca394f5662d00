"""Panels for the feature tests: synthetic OHLCV with a designated market, and real sample data."""

from __future__ import annotations

import pandas as pd
import pytest

from engine.data.sample import OHLCV_STOCKS, load_sample_prices
from engine.data.synthetic import make_panel


@pytest.fixture(scope="session")
def gappy_panel() -> pd.DataFrame:
    """Like ``market_panel`` but with 2% of rows missing and some values blanked."""
    return make_panel(14, 500, seed=8, missing_fraction=0.02).prices


@pytest.fixture(scope="session")
def sample_slice() -> pd.DataFrame:
    """Real sample rows 2012-07 .. 2019-06: VIX, index OHLCV, close-only stocks, factor ETFs."""
    prices = load_sample_prices()
    return prices[(prices["date"] >= "2012-07-01") & (prices["date"] <= "2019-06-30")]


@pytest.fixture(scope="session")
def wiki_slice() -> pd.DataFrame:
    """Real daily OHLCV with volume, 2010-01 .. 2013-03: the sample's five WIKI stocks, the
    index (OHLCV) and its NASDAQ peer."""
    prices = load_sample_prices()
    tickers = [*OHLCV_STOCKS, "^GSPC", "^IXIC"]
    keep = prices["ticker"].isin(tickers) & prices["date"].between("2010-01-01", "2013-03-01")
    return prices[keep].reset_index(drop=True)
