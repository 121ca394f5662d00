"""The embedded offline default: real daily market data shipped inside skfolio, arch and
bokeh-sampledata.

Loaded through the packages' own loaders; nothing is copied into the repository.

- 20 US large caps (skfolio): adjusted closes only, so open/high/low/volume are NaN.
- 5 US large caps with full daily OHLCV and volume, 2000-03 to 2013-03 (bokeh-sampledata's
  copy of Quandl's public-domain WIKI prices): AAPL, IBM, MSFT, GOOG (from 2004-08), FB
  (from 2012-05). Their own tickers, ``WIKI-AAPL`` ..., so two vendors' histories never
  mix under one ticker. Split- and dividend-adjusted as the source's adj_close says
  (``apply_adjusted_close``), and volume in adjusted shares (raw volume x close /
  adj_close), so price x volume stays the session's traded value across a split.
- ^GSPC, the S&P 500 index: full OHLCV from arch for 1999-2018, and skfolio's closes
  (the same index; closes agree to 1e-4) for 1990-1998 and 2019-2022, close only there.
- ^IXIC, the NASDAQ Composite (arch): OHLCV 1999-2018.
- ^VIX (arch): level as close, 2014-2019.
- Factor ETFs MTUM QUAL SIZE USMV VLUE (skfolio): closes 2014-2022.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import pandas as pd

from engine.data.schema import (
    FetchResult,
    Progress,
    apply_adjusted_close,
    empty_prices,
    to_normalized,
)
from engine.data.universe import FACTOR_ETFS, INDICES

STOCKS = (
    "AAPL",
    "AMD",
    "BAC",
    "BBY",
    "CVX",
    "GE",
    "HD",
    "JNJ",
    "JPM",
    "KO",
    "LLY",
    "MRK",
    "MSFT",
    "PEP",
    "PFE",
    "PG",
    "RRC",
    "UNH",
    "WMT",
    "XOM",
)
# bokeh-sampledata's stocks under their own names: the source's ticker after "WIKI-"
OHLCV_STOCKS = ("WIKI-AAPL", "WIKI-IBM", "WIKI-MSFT", "WIKI-GOOG", "WIKI-FB")
SAMPLE_TICKERS = STOCKS + OHLCV_STOCKS + INDICES + FACTOR_ETFS

DESCRIPTIONS = {
    **{t: "US large cap, adjusted close only (skfolio)" for t in STOCKS},
    **{
        t: "US large cap, daily OHLCV with volume 2000-2013 (Quandl WIKI, bokeh-sampledata)"
        for t in OHLCV_STOCKS
    },
    "^GSPC": "S&P 500 index: OHLCV 1999-2018 (arch), close only before and after (skfolio)",
    "^IXIC": "NASDAQ Composite: OHLCV 1999-2018 (arch)",
    "^VIX": "CBOE VIX level as close, 2014-2019 (arch)",
    **{t: "Factor ETF, close only (skfolio)" for t in FACTOR_ETFS},
}


def _closes_to_long(closes: pd.DataFrame) -> pd.DataFrame:
    """Wide close table (dates x tickers) -> long normalized rows, close only."""
    long = closes.rename_axis(index="date", columns="ticker").stack().rename("close")
    return long.reset_index()


def _ohlcv_to_long(frame: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """arch's Open/High/Low/Close/Volume frame -> long normalized rows for ``ticker``."""
    renamed = frame.rename(columns=str.lower)[["open", "high", "low", "close", "volume"]]
    return renamed.rename_axis("date").reset_index().assign(ticker=ticker)


def _gspc(arch_sp500: pd.DataFrame, skfolio_sp500: pd.DataFrame) -> pd.DataFrame:
    """S&P 500: arch's OHLCV where it exists, skfolio's closes on the other dates."""
    ohlcv = _ohlcv_to_long(arch_sp500, "^GSPC")
    closes = skfolio_sp500["SP500"].rename("close").rename_axis("date").reset_index()
    outside = closes[~closes["date"].isin(ohlcv["date"])].assign(ticker="^GSPC")
    return pd.concat([ohlcv, outside], ignore_index=True)


def _wiki_stocks(stocks: pd.DataFrame) -> pd.DataFrame:
    """bokeh-sampledata's unadjusted OHLCV + adj_close -> adjusted long rows (module doc)."""
    adjusted = apply_adjusted_close(
        stocks.assign(volume=stocks["volume"] * stocks["close"] / stocks["adj_close"])
    )
    return adjusted.assign(ticker="WIKI-" + adjusted["ticker"])


@lru_cache(maxsize=1)
def load_sample_prices() -> pd.DataFrame:
    """Every sample ticker as one normalized frame (cached; about 205k rows)."""
    # imported here: loading arch, skfolio and bokeh-sampledata takes seconds, and only
    # reading the sample needs them (not the pages, the API or the exposure check that
    # import this module)
    from arch.data import nasdaq, sp500, vix  # noqa: PLC0415
    from bokeh_sampledata import stocks  # noqa: PLC0415
    from skfolio.datasets import (  # noqa: PLC0415
        load_factors_dataset,
        load_sp500_dataset,
        load_sp500_index,
    )

    parts = [
        _closes_to_long(load_sp500_dataset()),
        _closes_to_long(load_factors_dataset()),
        _wiki_stocks(stocks.data),
        _gspc(sp500.load(), load_sp500_index()),
        _ohlcv_to_long(nasdaq.load(), "^IXIC"),
        vix.load()
        .rename(columns={"vix": "close"})
        .rename_axis("date")
        .reset_index()
        .assign(ticker="^VIX"),
    ]
    return to_normalized(pd.concat(parts, ignore_index=True))


class SampleProvider:
    """Provider over the embedded real data; needs no network."""

    name = "sample"
    adjusted = True

    def fetch(
        self,
        tickers: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        progress: Progress | None = None,
    ) -> FetchResult:
        """Rows for ``tickers`` within [start, end]; unknown tickers are reported in errors."""
        wanted = [t for t in tickers if t in SAMPLE_TICKERS]
        errors = {
            t: f"{t} is not in the offline sample source (it has {len(SAMPLE_TICKERS)} "
            "tickers; use the yfinance or CSV source for others)"
            for t in tickers
            if t not in SAMPLE_TICKERS
        }
        if not wanted:
            return FetchResult(self.name, empty_prices(), self.adjusted, errors)
        data = load_sample_prices()
        mask = data["ticker"].isin(wanted)
        if start is not None:
            mask &= data["date"] >= pd.Timestamp(start)
        if end is not None:
            mask &= data["date"] <= pd.Timestamp(end)
        prices = data.loc[mask].reset_index(drop=True)
        for ticker in set(wanted) - set(prices["ticker"]):
            errors[ticker] = f"{ticker}: the sample source has no rows in the requested dates"
        if progress:
            counts = prices["ticker"].value_counts()
            for i, ticker in enumerate(wanted):
                progress((i + 1) / len(wanted), f"{ticker}: {int(counts.get(ticker, 0))} rows")
        return FetchResult(self.name, prices, self.adjusted, errors)
