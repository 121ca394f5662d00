"""The embedded offline sample: real data from skfolio, arch and bokeh-sampledata,
honestly labelled."""

import numpy as np
import pandas as pd
from bokeh_sampledata import stocks as wiki

from engine.data.quality import check_prices
from engine.data.sample import (
    OHLCV_STOCKS,
    SAMPLE_TICKERS,
    STOCKS,
    SampleProvider,
    load_sample_prices,
)
from engine.data.universe import sector_of


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


def test_ohlcv_stocks_are_their_own_tickers_with_real_bars_and_volume() -> None:
    prices = load_sample_prices().set_index(["ticker", "date"])
    bars = prices.loc[list(OHLCV_STOCKS)]
    assert bars.notna().all().all()  # open, high, low, close and volume on every row
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1) + 1e-9).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1) - 1e-9).all()
    spans = bars.reset_index().groupby("ticker")["date"].agg(["min", "max", "size"])
    assert spans.loc["WIKI-IBM"].tolist() == [
        pd.Timestamp("2000-03-01"),
        pd.Timestamp("2013-03-01"),
        3270,
    ]
    assert spans.loc["WIKI-GOOG", "min"] == pd.Timestamp("2004-08-19")
    assert spans.loc["WIKI-FB", "min"] == pd.Timestamp("2012-05-18")
    # skfolio's AAPL (closes only) is untouched: two vendors never share a ticker
    assert prices.loc["AAPL", "volume"].isna().all()
    assert {sector_of(t) for t in OHLCV_STOCKS} == {
        "Information Technology",
        "Communication Services",
    }


def test_ohlcv_stocks_are_adjusted_as_the_source_says_and_keep_traded_value() -> None:
    raw = wiki.data[wiki.data["ticker"] == "AAPL"].set_index("date")
    ours = load_sample_prices().query("ticker == 'WIKI-AAPL'").set_index("date")
    np.testing.assert_allclose(ours["close"], raw["adj_close"])
    ratio = raw["adj_close"] / raw["close"]
    np.testing.assert_allclose(ours["high"], raw["high"] * ratio)
    # price x volume is the session's traded value, before and after AAPL's 2005 split
    np.testing.assert_allclose(ours["close"] * ours["volume"], raw["close"] * raw["volume"])
    around = ours.loc["2005-02-25":"2005-03-01", "close"]
    assert abs(np.log(around).diff().dropna()).max() < 0.05  # no split-sized gap
