"""The Signals page in AppTest: an OHLCV ticker, a close-only ticker, an earlier date."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from engine.features import REGIME_NAMES


def open_signals(at: AppTest, watchlist: str, ticker: str) -> AppTest:
    at.sidebar.selectbox(key="global.watchlist").set_value(watchlist).run()
    at.switch_page("views/signals.py")
    at.run()
    at.selectbox(key="signals.ticker").set_value(ticker).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_specs(at: AppTest) -> list[str]:
    return [chart.proto.spec for chart in at.get("plotly_chart")]


def test_index_with_ohlcv_shows_every_family(app: AppTest) -> None:
    at = open_signals(app, "Sample benchmarks", "^GSPC")
    at.date_input(key="signals.date").set_value("2018-06-29").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Signals"]
    regime = {m.label: m.value for m in at.metric}["Market regime"]
    assert regime in REGIME_NAMES
    # every family of the offline sample has its inputs in mid-2018; the keyed sources
    # (FRED, BTC, Finnhub) are not in the sample, and the page says so, filling nothing in
    (note,) = [i.value for i in at.info]
    lacking = [line for line in note.splitlines() if line.startswith("- **")]
    assert [line.split("**")[1] for line in lacking] == ["Cross-asset", "Sentiment"]
    assert "missing btc, dgs10, dgs2, dollar, vixcls" in lacking[0]
    assert "unavailable (0% of its columns); missing insider, news" in lacking[1]
    specs = chart_specs(at)
    assert len(specs) == 4  # price chart, SMI gauge, regime strip, transitions
    assert "Candlestick" in specs[0] or "candlestick" in specs[0]
    assert "Smart Money Index" in specs[1]
    tabs = [t.label for t in at.tabs]
    assert tabs == [
        "Technical",
        "Institutional flow",
        "Microstructure",
        "Cross-asset",
        "Patterns",
        "Regime",
        "Sentiment",
    ]
    technical = at.dataframe[0].value
    assert {"rsi_14", "adx_14", "ema_stack"} <= set(technical["feature"])
    assert technical["value"].notna().all()
    assert technical["percentile"].between(0, 100).all()


def test_close_only_stock_says_which_families_are_unavailable(app: AppTest) -> None:
    at = open_signals(app, "Sample universe", "AAPL")
    infos = " ".join(i.value for i in at.info)
    assert (
        "**Institutional flow**: unavailable (0% of its columns); missing high, low, volume"
        in infos
    )
    assert "**Microstructure**: partial" in infos
    assert "Smart Money Index unavailable" in infos
    specs = chart_specs(at)
    assert "close only" in specs[0]
    flow = next(d.value for d in at.dataframe if "ifi_20" in set(d.value["feature"]))
    assert flow["value"].isna().all()


def test_ohlcv_sample_stock_shows_flow_microstructure_and_patterns(app: AppTest) -> None:
    at = open_signals(app, "Sample OHLCV", "WIKI-IBM")
    at.date_input(key="signals.date").set_value("2012-06-29").run()
    assert not at.exception, [e.value for e in at.exception]
    infos = " ".join(i.value for i in at.info)
    for family in ("Institutional flow", "Microstructure", "Patterns", "Technical"):
        assert f"**{family}**" not in infos  # nothing lacking: real bars with volume
    specs = chart_specs(at)
    assert "Smart Money Index" in specs[1]
    tables = {d.value["feature"].iloc[0]: d.value for d in at.dataframe if "feature" in d.value}
    flow = next(t for t in tables.values() if "ifi_20" in set(t["feature"]))
    assert flow.set_index("feature").loc[["ifi_20", "smi"], "value"].notna().all()
    micro = next(t for t in tables.values() if "amihud_20" in set(t["feature"]))
    assert micro["value"].notna().mean() > 0.8


@pytest.mark.parametrize("ticker", ["^VIX"])
def test_a_ticker_with_only_a_short_history_renders(app: AppTest, ticker: str) -> None:
    at = open_signals(app, "Sample benchmarks", ticker)
    assert not at.error
