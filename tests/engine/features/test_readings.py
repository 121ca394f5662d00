"""The Signals page's tables: values with own-history percentiles, family availability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.features import compute_features
from engine.features.readings import compute_family_availability, compute_feature_readings
from tests.builders import MARKET_PARAMS


@pytest.fixture(scope="module")
def one_ticker(market_panel) -> tuple[pd.DataFrame, pd.DataFrame]:
    features = compute_features(market_panel, params=MARKET_PARAMS).loc["SYN0005"]
    return features, market_panel[market_panel["ticker"] == "SYN0005"]


def test_percentile_uses_history_up_to_the_date_only(one_ticker) -> None:
    features, _ = one_ticker
    day = features.index[400]
    readings = compute_feature_readings(features, day, params=MARKET_PARAMS).set_index("feature")
    past = features.loc[:day, "rsi_14"].dropna()
    value = features.at[day, "rsi_14"]
    assert readings.at["rsi_14", "value"] == value
    assert readings.at["rsi_14", "percentile"] == pytest.approx(100 * (past <= value).mean())
    later = features.copy()
    later.loc[later.index > day, "rsi_14"] = 1000.0  # the future must not move it
    again = compute_feature_readings(later, day, params=MARKET_PARAMS).set_index("feature")
    assert again.at["rsi_14", "percentile"] == readings.at["rsi_14", "percentile"]
    assert set(readings["family"]) == {
        "Technical",
        "Institutional flow",
        "Microstructure",
        "Cross-asset",
        "Patterns",
        "Regime",
        "Sentiment",
    }


def test_a_date_between_sessions_uses_the_last_one_before(one_ticker) -> None:
    features, _ = one_ticker
    saturday = features.index[300] + pd.offsets.Week(weekday=5)
    readings = compute_feature_readings(features, saturday, params=MARKET_PARAMS)
    last = features.loc[:saturday].iloc[-1]
    assert readings.set_index("feature").at["ret_1d", "value"] == last["ret_1d"]


def test_availability_names_the_missing_inputs(one_ticker) -> None:
    features, prices = one_ticker
    day = features.index[-1]
    full = compute_family_availability(features, prices, day).set_index("family")
    # the synthetic panel has every price field but no macro series, BTC or news
    assert set(full["status"].drop(["cross_asset", "sentiment"])) == {"available"}
    assert full.at["cross_asset", "status"] == "partial"
    assert full.at["cross_asset", "missing_inputs"] == "btc, dgs10, dgs2, dollar, vixcls"
    assert full.at["sentiment", "status"] == "unavailable"
    assert full.at["sentiment", "missing_inputs"] == "insider, news"
    close_only = prices.assign(open=np.nan, high=np.nan, low=np.nan, volume=np.nan)
    sparse = compute_features(close_only, families=["technical", "flow"]).loc["SYN0005"]
    table = compute_family_availability(sparse, close_only, day).set_index("family")
    assert table.at["flow", "status"] == "unavailable"
    assert table.at["flow", "missing_inputs"] == "high, low, volume"
    assert table.at["technical", "status"] == "partial"
    assert table.at["technical", "share"] == pytest.approx(16 / 21)
