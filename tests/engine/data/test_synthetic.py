"""Synthetic panels: deterministic, clean, and with the statistical truth they promise."""

import numpy as np
import pandas as pd
import pytest

from engine.data.quality import check_prices
from engine.data.synthetic import make_panel, true_probability_up


def test_same_seed_same_panel_and_panel_is_clean() -> None:
    a = make_panel(5, 200, seed=3)
    pd.testing.assert_frame_equal(a.prices, make_panel(5, 200, seed=3).prices)
    assert not a.prices.equals(make_panel(5, 200, seed=4).prices)
    assert check_prices(a.prices, today=pd.Timestamp("2023-01-03")).findings.empty
    assert len(a.prices) == 1000 and a.truth is None


def test_missing_fraction_drops_rows() -> None:
    panel = make_panel(10, 300, seed=1, missing_fraction=0.1)
    assert 2500 < len(panel.prices) < 2900


def _next_return_vs_clv(prices: pd.DataFrame) -> float:
    clv = (2 * prices["close"] - prices["high"] - prices["low"]) / (prices["high"] - prices["low"])
    nxt = prices.groupby("ticker")["close"].shift(-1) / prices["close"] - 1
    ok = nxt.notna()
    return float(np.corrcoef(clv[ok], nxt[ok])[0, 1])


def test_null_panel_is_unpredictable_and_planted_panel_is_not() -> None:
    null = make_panel(100, 500, kind="null", seed=2).prices
    planted = make_panel(100, 500, kind="planted", seed=2, beta=0.1).prices
    assert abs(_next_return_vs_clv(null)) < 0.01
    assert _next_return_vs_clv(planted) > 0.05


@pytest.mark.parametrize("horizon", [1, 5])
def test_planted_truth_matches_realized_frequencies(horizon: int) -> None:
    panel = make_panel(150, 1000, kind="planted", seed=8, beta=0.1, phi=0.9)
    frame = panel.prices.merge(panel.truth, on=["ticker", "date"])
    future = frame.groupby("ticker")["close"].shift(-horizon) / frame["close"] - 1
    ok = future.notna()
    p = true_probability_up(frame.loc[ok, "signal"].to_numpy(), horizon, 0.1, 0.9)
    up = (future[ok] > 0).to_numpy()
    deciles = pd.qcut(p, 10, labels=False)
    for d in range(10):
        in_bin = deciles == d
        assert up[in_bin].mean() == pytest.approx(p[in_bin].mean(), abs=0.015)


def _log_returns(prices: pd.DataFrame) -> pd.DataFrame:
    close = prices.pivot(index="date", columns="ticker", values="close")
    return np.log(close).diff().iloc[1:]


@pytest.mark.parametrize("kind", ["random", "null", "planted"])
def test_market_factor_adds_to_the_same_stock_draws(kind: str) -> None:
    plain = make_panel(8, 300, kind=kind, seed=4)
    market = make_panel(8, 300, kind=kind, seed=4, market_vol=0.02, index_ticker="^GSPC")
    assert plain.market is None and plain.loadings is None
    stocks = market.prices[market.prices["ticker"] != "^GSPC"]
    # removing b_i * m_t leaves the log returns of the panel without a market
    common = np.outer(market.market.to_numpy()[1:], market.loadings.to_numpy())
    residual = _log_returns(stocks) - common
    assert np.allclose(residual.to_numpy(), _log_returns(plain.prices).to_numpy(), atol=1e-12)
    assert market.loadings.between(0.5, 1.5).all() and market.market.std() == pytest.approx(
        0.02, rel=0.15
    )
    if kind == "planted":
        pd.testing.assert_frame_equal(market.truth, plain.truth)
    index = market.prices[market.prices["ticker"] == "^GSPC"].set_index("date")
    assert index["close"].to_numpy() == pytest.approx(100 * np.exp(market.market.cumsum()))
    assert check_prices(market.prices, today=pd.Timestamp("2023-01-03")).findings.empty
    # the market moves every stock together
    correlation = _log_returns(stocks).corrwith(_log_returns(index.reset_index())["^GSPC"])
    assert (correlation > 0.25).all()


def test_index_needs_a_market_and_missing_rows_spare_it() -> None:
    with pytest.raises(ValueError, match="market_vol"):
        make_panel(5, 100, index_ticker="^GSPC")
    with pytest.raises(ValueError, match="market_vol"):
        make_panel(5, 100, market_vol=-0.01)
    panel = make_panel(10, 300, seed=1, missing_fraction=0.1, market_vol=0.01, index_ticker="^X")
    assert (panel.prices["ticker"] == "^X").sum() == 300
    plain = make_panel(10, 300, seed=1, missing_fraction=0.1)
    assert len(panel.prices) - 300 == len(plain.prices)  # the same stock rows dropped
