"""Return attribution and risk decomposition add up exactly, and name the right source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.metrics import TRADING_DAYS
from engine.risk import (
    RiskModelParams,
    attribution_intervals,
    compute_attribution,
    compute_characteristic_model,
    compute_exposures,
    compute_factor_returns,
    compute_risk_decomposition,
)


def long_short(signal: pd.DataFrame, quantile: float = 0.2) -> pd.DataFrame:
    """Weights held over each date: long the top ``quantile`` of the previous date's
    signal, short the bottom, each side summing to 1 in size."""
    ranks = signal.rank(axis=1, pct=True)
    top = (ranks > 1 - quantile).astype(float)
    bottom = (ranks <= quantile).astype(float)
    weights = top.div(top.sum(axis=1), axis=0) - bottom.div(bottom.sum(axis=1), axis=0)
    return weights.fillna(0.0).shift(1)  # decided at d - 1, held over d


@pytest.fixture(scope="module")
def fitted(momentum):
    prices = momentum.prices
    exposures = compute_exposures(prices.close, prices.volume, sectors=prices.sectors)
    return exposures, compute_factor_returns(exposures, prices.returns)


def test_a_momentum_portfolio_earns_mostly_the_momentum_factor(momentum, fitted) -> None:
    exposures, history = fitted
    weights = long_short(momentum.momentum_signal)
    result = compute_attribution(weights, momentum.prices.returns, exposures, history.returns)
    final = result.cumulative.iloc[-1]
    assert final["total"] > 0.5
    assert final["momentum"] > 0.7 * final["total"]
    others = final.drop(["momentum", "total"])
    assert final["momentum"] > 5 * others.abs().max()
    daily_total = (weights * momentum.prices.returns).sum(axis=1).iloc[1:]
    np.testing.assert_allclose(result.daily["total"], daily_total, atol=1e-15)


def test_the_parts_add_up_to_the_total_every_day_and_cumulatively(momentum, fitted) -> None:
    exposures, history = fitted
    rng = np.random.default_rng(4)
    close = momentum.prices.close
    weights = pd.DataFrame(rng.normal(0, 0.02, close.shape), close.index, close.columns)
    returns = momentum.prices.returns.copy()
    returns.iloc[500, :3] = np.nan  # three held names without a price that day
    result = compute_attribution(weights, returns, exposures, history.returns)
    daily, cumulative = result.daily, result.cumulative
    assert list(daily.columns) == [*exposures.factors, "specific", "total"]
    assert daily.index.equals(close.index[1:]) and daily.notna().all().all()
    assert np.abs(daily.drop(columns="total").sum(axis=1) - daily["total"]).max() < 1e-10
    parts = cumulative.drop(columns="total").sum(axis=1)
    assert np.abs(parts - cumulative["total"]).max() < 1e-10
    compounded = np.cumprod(1 + daily["total"]) - 1  # Carino: the compounded return
    np.testing.assert_allclose(cumulative["total"], compounded, rtol=1e-10, atol=1e-12)
    assert (
        result.unpriced.loc[close.index[500]] == 3
        and result.unpriced.drop(close.index[500]).eq(0).all()
    )
    # before a year of prices momentum has no factor return: its part is 0, not NaN
    assert (daily["momentum"].iloc[:200] == 0).all()


def test_a_book_return_adds_a_trading_and_costs_part_and_still_adds_up(momentum, fitted) -> None:
    exposures, history = fitted
    rng = np.random.default_rng(6)
    close = momentum.prices.close
    weights = pd.DataFrame(rng.normal(0, 0.02, close.shape), close.index, close.columns)
    holdings = compute_attribution(weights, momentum.prices.returns, exposures, history.returns)
    book = holdings.daily["total"] - 0.0002  # costs of 2 bps a day
    result = compute_attribution(
        weights, momentum.prices.returns, exposures, history.returns, book=book
    )
    daily, cumulative = result.daily, result.cumulative
    assert list(daily.columns)[-2:] == ["trading and costs", "total"]
    np.testing.assert_allclose(daily["trading and costs"], -0.0002, rtol=0, atol=1e-15)
    np.testing.assert_allclose(daily["total"], book, rtol=0, atol=0)
    assert np.abs(daily.drop(columns="total").sum(axis=1) - daily["total"]).max() < 1e-10
    assert np.abs(cumulative.drop(columns="total").sum(axis=1) - cumulative["total"]).max() < 1e-10
    np.testing.assert_allclose(cumulative["total"], np.cumprod(1 + book) - 1, rtol=1e-10)


def test_a_total_loss_cannot_be_linked(momentum, fitted) -> None:
    exposures, history = fitted
    close = momentum.prices.close
    weights = pd.DataFrame(0.0, close.index, close.columns)
    weights.iloc[400, 0] = 1.0
    returns = momentum.prices.returns.copy()
    returns.iloc[400, 0] = -1.0
    with pytest.raises(ValueError, match="-100%"):
        compute_attribution(weights, returns, exposures, history.returns)


@pytest.fixture(scope="module")
def model(momentum, fitted):
    exposures, history = fitted
    return compute_characteristic_model(
        exposures, history, momentum.prices.close.index[-1], RiskModelParams(covariance="ewma")
    )


def test_euler_contributions_add_up_to_the_volatility(model) -> None:
    rng = np.random.default_rng(7)
    weights = pd.Series(rng.normal(0, 0.02, len(model.tickers)), index=model.tickers)
    result = compute_risk_decomposition(weights.iloc[5:], model)  # missing weights hold 0
    w = weights.to_numpy().copy()
    w[:5] = 0.0
    sigma = float(np.sqrt(w @ model.covariance().to_numpy() @ w))
    assert result.volatility == pytest.approx(sigma, rel=1e-12)
    total = result.factor_contributions.sum() + result.specific_contribution
    assert abs(total - sigma) < 1e-10 and abs(result.name_contributions.sum() - sigma) < 1e-10
    assert (result.name_contributions.iloc[:5] == 0).all()
    x = model.exposures.to_numpy().T @ w
    np.testing.assert_allclose(result.exposures.to_numpy(), x, rtol=1e-12)
    assert result.annual_volatility == pytest.approx(sigma * np.sqrt(TRADING_DAYS))
    # the marginal contribution is the gradient of the volatility
    step = np.zeros_like(w)
    step[10] = 1e-6
    cov = model.covariance().to_numpy()
    numeric = (
        np.sqrt((w + step) @ cov @ (w + step)) - np.sqrt((w - step) @ cov @ (w - step))
    ) / 2e-6
    assert result.marginal.iloc[10] == pytest.approx(numeric, rel=1e-6)


def test_a_flat_book_has_no_risk_and_unknown_names_are_refused(model) -> None:
    flat = pd.Series(0.0, index=model.tickers)
    empty = compute_risk_decomposition(flat, model)
    assert empty.volatility == 0 and empty.name_contributions.eq(0).all()
    with pytest.raises(ValueError, match="outside the risk model"):
        compute_risk_decomposition(pd.Series({"NOPE": 1.0}), model)


def test_attribution_intervals_annualize_each_part_and_hold_zero_on_noise() -> None:
    rng = np.random.default_rng(8)
    daily = pd.DataFrame(rng.normal(0, 0.01, (1000, 4)), columns=["a", "b", "c", "total"])
    daily["drift"] = 0.001 + rng.normal(0, 0.001, 1000)
    table = attribution_intervals(daily, n_boot=200)
    np.testing.assert_allclose(table["annual"], daily.mean() * TRADING_DAYS, rtol=1e-12)
    noise = table.loc[["a", "b", "c"]]
    assert ((noise["low"] < 0) & (noise["high"] > 0)).all()
    assert table.at["drift", "low"] > 0  # a real part stands out
    short = attribution_intervals(daily.iloc[:30], n_boot=50)
    assert short["low"].isna().all() and short["annual"].notna().all()
