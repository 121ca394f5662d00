"""The embedded offline sample: real data from skfolio and arch, honestly labelled."""

import pandas as pd

from engine.data.quality import check_prices
from engine.data.sample import SAMPLE_TICKERS, STOCKS, SampleProvider, load_sample_prices


def test_sample_holds_every_ticker_with_its_real_span() -> None:
    prices = load_sample_prices()
    assert set(prices["ticker"]) == set(SAMPLE_TICKERS)
    spans = prices.groupby("ticker")["date"].agg(["min", "max"])
    assert spans.loc["AAPL"].tolist() == [pd.Timestamp("1990-01-02"), pd.Timestamp("2022-12-28")]
    assert spans.loc["^IXIC", "max"] == pd.Timestamp("2018-12-31")
    assert spans.loc["MTUM", "min"] == pd.Timestamp("2014-01-02")


def test_stocks_are_close_only_and_the_index_has_ohlcv_where_arch_has_it() -> None:
    prices = load_sample_prices().set_index(["ticker", "date"])
    stocks = prices.loc[list(STOCKS)]
    assert stocks[["open", "high", "low", "volume"]].isna().all().all()
    assert stocks["close"].notna().all()
    gspc = prices.loc["^GSPC"]
    assert gspc.loc["2008-10-10", ["open", "high", "low", "volume"]].notna().all()
    assert gspc.loc["1995-06-01", ["open", "volume"]].isna().all()
    assert gspc.loc["1995-06-01", "close"] > 0


def test_sample_passes_the_gate_without_errors() -> None:
    result = check_prices(load_sample_prices(), today=pd.Timestamp("2026-01-01"))
    assert result.rejected == {}
    assert set(result.findings["severity"]) <= {"warning", "info"}


def test_unknown_tickers_are_reported_not_invented() -> None:
    result = SampleProvider().fetch(["AAPL", "HOOD"], start=pd.Timestamp("2022-12-01"))
    assert set(result.prices["ticker"]) == {"AAPL"}
    assert result.prices["date"].min() >= pd.Timestamp("2022-12-01")
    assert "not in the offline sample" in result.errors["HOOD"]
