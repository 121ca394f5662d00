"""The provider protocol and the market-data sources the app offers.

Synthetic panels (engine.data.synthetic) implement the same protocol but are not listed
here: they are for tests and benchmarks and never offered as market data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import pandas as pd

from engine.data.sample import SampleProvider
from engine.data.schema import FetchResult, Progress
from engine.data.yahoo import YFinanceProvider

# name -> what the user sees. "csv" is imported from a file, not refreshed.
MARKET_SOURCES = {
    "sample": "Offline sample (real data shipped in skfolio and arch)",
    "yfinance": "Yahoo Finance (live; needs internet)",
    "csv": "Your own CSV file",
}
REFRESHABLE_SOURCES = ("sample", "yfinance")


class PriceProvider(Protocol):
    """What every source implements."""

    name: str
    adjusted: bool

    def fetch(
        self,
        tickers: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        progress: Progress | None = None,
    ) -> FetchResult:
        """Normalized prices for ``tickers`` in [start, end] plus per-ticker errors."""
        ...


def get_provider(name: str) -> PriceProvider:
    """A refreshable market source by name; ValueError naming the choices otherwise."""
    if name == "sample":
        return SampleProvider()
    if name == "yfinance":
        return YFinanceProvider()
    raise ValueError(
        f"Unknown refresh source {name!r}; choose one of {', '.join(REFRESHABLE_SOURCES)}"
        " (CSV files are imported on the Data page)"
    )
