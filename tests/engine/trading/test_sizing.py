"""Sizing by hand: Kelly, caps and their reasons, stops and take-profits by regime."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.trading.sizing import (
    SizingParams,
    ewma_volatility,
    garch_volatility,
    kelly_fraction,
    size_positions,
)


def book(p_up, *, sector="Tech", regime=0.0, vol=0.2, price=100.0, atr=2.0) -> pd.DataFrame:
    p_up = np.atleast_1d(p_up)
    n = len(p_up)
    return pd.DataFrame(
        {
            "p_up": p_up,
            "price": price,
            "atr": atr,
            "volatility": vol,
            "regime_id": regime,
            "sector": sector,
        },
        index=[f"T{i}" for i in range(n)],
    )


def test_kelly_formula() -> None:
    assert kelly_fraction(0.6, 1.0) == pytest.approx(0.2)
    assert kelly_fraction(0.55, 2.0) == pytest.approx(0.55 - 0.45 / 2)
    assert kelly_fraction(0.4, 1.0) < 0


def test_quarter_kelly_then_the_per_ticker_cap() -> None:
    out = size_positions(book([0.58, 0.7]), 1_000_000, 1.0)
    assert out["weight"].tolist() == pytest.approx([0.25 * 0.16, 0.05])
    assert out["binding"].tolist() == ["", "max weight per ticker"]
    assert out["shares"].tolist() == [400.0, 500.0]


def test_stop_and_take_profit_depend_on_the_regime() -> None:
    bull = size_positions(book(0.6, regime=0.0), 1e6, 1.0).iloc[0]
    bear = size_positions(book(0.6, regime=2.0), 1e6, 1.0).iloc[0]
    unknown = size_positions(book(0.6, regime=np.nan), 1e6, 1.0).iloc[0]
    assert (bull["stop"], bull["take_profit"], bull["trailing"]) == (95.0, 110.0, True)
    assert (bear["stop"], bear["take_profit"], bear["trailing"]) == (97.0, 106.0, False)
    assert (unknown["stop"], unknown["take_profit"]) == (96.0, 108.0)


def test_sector_limit_is_tighter_in_bear_regimes() -> None:
    bear = size_positions(book([0.7] * 10, regime=2.0), 1e6, 1.0)
    assert bear["weight"].sum() == pytest.approx(0.20)
    assert all("sector limit 20% (Tech)" in b for b in bear["binding"])
    bull = size_positions(book([0.7] * 10, regime=0.0), 1e6, 1.0)
    assert bull["weight"].sum() == pytest.approx(0.40)


def test_volatility_target_scales_the_whole_book() -> None:
    many = book([0.7] * 40, vol=0.6)
    many["sector"] = [f"S{i}" for i in range(40)]
    out = size_positions(many, 1e6, 1.0)
    w = out["weight"].to_numpy()
    risk = w * 0.6
    realized = np.sqrt(np.sum(risk**2) + 0.3 * (np.sum(risk) ** 2 - np.sum(risk**2)))
    assert realized == pytest.approx(0.15)
    assert "volatility target 15%" in out["binding"].iloc[0]


def test_no_edge_no_position_and_shorts_only_when_allowed() -> None:
    longs = size_positions(book([0.45, 0.5]), 1e6, 1.0)
    assert (longs["weight"] == 0).all() and longs["stop"].isna().all()
    both = size_positions(book([0.3]), 1e6, 1.0, SizingParams(long_short=True)).iloc[0]
    assert both["side"] == -1 and both["weight"] == pytest.approx(-0.05)
    assert both["stop"] > 100 > both["take_profit"]
    missing = size_positions(book([0.7], vol=np.nan), 1e6, 1.0).iloc[0]
    assert missing["weight"] == 0 and missing["binding"].endswith("no volatility estimate")


def test_volatility_estimates() -> None:
    rng = np.random.default_rng(0)
    returns = pd.DataFrame({"a": rng.normal(0, 0.01, 600), "b": rng.normal(0, 0.02, 600)})
    ewma = ewma_volatility(returns).iloc[-1]
    assert ewma["a"] == pytest.approx(0.01 * np.sqrt(252), rel=0.35)
    assert ewma["b"] == pytest.approx(0.02 * np.sqrt(252), rel=0.35)
    assert garch_volatility(returns["b"]) == pytest.approx(0.02 * np.sqrt(252), rel=0.25)


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="reward_risk"):
        SizingParams(reward_risk=3.0)
