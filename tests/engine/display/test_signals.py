"""Signal figures carry the traces the page promises."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.display.signals import (
    plot_regime_strip,
    plot_signal_chart,
    plot_smi_gauge,
    plot_transition_matrix,
)
from engine.features import REGIME_NAMES, compute_features
from engine.features.regime import regime_transitions
from engine.features.technical import compute_overlays


def _inputs(prices: pd.DataFrame, ticker: str):
    rows = prices[prices["ticker"] == ticker]
    return (
        rows,
        compute_overlays(rows).loc[ticker],
        compute_features(rows, families=["patterns"]).loc[ticker],
    )


def test_chart_has_candles_emas_bands_and_pattern_markers(market_panel) -> None:
    rows, overlays, features = _inputs(market_panel, "SYN0004")
    fig = plot_signal_chart(rows, overlays, features, "SYN0004")
    kinds = [trace.type for trace in fig.data]
    names = {trace.name for trace in fig.data}
    assert kinds.count("candlestick") == 1
    assert {"EMA 8", "EMA 21", "EMA 50", "EMA 200", "Bollinger 20, 2"} <= names
    breakouts = next(t for t in fig.data if t.name == "20-day breakout")
    assert len(breakouts.x) == int((features["breakout_20"] == 1).sum()) > 0


def test_close_only_chart_draws_a_line_and_says_why(market_panel) -> None:
    rows = market_panel[market_panel["ticker"] == "SYN0004"].assign(
        open=np.nan, high=np.nan, low=np.nan
    )
    rows, overlays, features = _inputs(rows, "SYN0004")
    fig = plot_signal_chart(rows, overlays, features, "SYN0004")
    assert "candlestick" not in [t.type for t in fig.data]
    assert "close only" in fig.layout.title.text
    assert not any(t.name in ("hammer", "bullish engulfing") for t in fig.data)


def test_smi_gauge_and_regime_figures() -> None:
    gauge = plot_smi_gauge(71.5, "accumulation", {"ifi_20": 80.0, "cmf_20": 65.0})
    assert gauge.data[0].value == 71.5 and "accumulation" in gauge.data[0].title.text
    assert list(gauge.data[1].y) == ["ifi_20", "cmf_20"]
    dates = pd.bdate_range("2022-01-03", periods=4)
    history = pd.DataFrame(
        {
            "regime_id": [0.0, 5.0, np.nan, 11.0],
            "regime_name": [REGIME_NAMES[0], REGIME_NAMES[5], None, REGIME_NAMES[11]],
        },
        index=dates,
    )
    strip = plot_regime_strip(history)
    assert strip.data[0].text[0][2] == "no regime (input missing)"
    assert len(strip.data[0].colorbar.ticktext) == 12
    matrix = plot_transition_matrix(regime_transitions(history))
    assert matrix.data[0].z.shape == (12, 12)
