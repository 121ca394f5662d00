"""Panels for the risk tests: a synthetic market from make_panel, and a seeded panel whose
returns carry a momentum premium and a planted stock-specific signal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from engine.data.synthetic import make_panel
from engine.features.panel import to_wide
from engine.risk import standardize

SECTORS = ("Energy", "Health", "Tech", "Utilities", "Banks")


@dataclass(frozen=True)
class WidePrices:
    """Sessions by tickers: closes, volumes, simple daily returns; and each ticker's sector."""

    close: pd.DataFrame
    volume: pd.DataFrame
    returns: pd.DataFrame
    sectors: dict[str, str]


def wide_prices(prices: pd.DataFrame) -> WidePrices:
    panel = to_wide(prices)
    grid = {"index": panel.dates, "columns": list(panel.tickers)}
    close = pd.DataFrame(panel.close, **grid)
    sectors = {t: SECTORS[i % len(SECTORS)] for i, t in enumerate(close.columns)}
    return WidePrices(close, pd.DataFrame(panel.volume, **grid), close / close.shift() - 1, sectors)


@pytest.fixture(scope="session")
def market() -> WidePrices:
    """40 synthetic names over 520 sessions with a common market factor."""
    return wide_prices(make_panel(40, 520, seed=3, market_vol=0.01).prices)


@dataclass(frozen=True)
class MomentumPanel:
    """Prices whose next-day returns load on the 12-1 momentum exposure and on a planted
    stock-specific signal, with the two signals a test ranks.

    ``momentum_signal`` is the standardized momentum exposure plus small noise;
    ``specific_signal`` is the planted signal (iid across names and dates, so independent
    of every exposure). Both are dated at the close that knows them and predict the next
    day's return.
    """

    prices: WidePrices
    momentum_signal: pd.DataFrame
    specific_signal: pd.DataFrame
    momentum_premium: pd.Series


def momentum_panel(n_names: int = 150, n_days: int = 900, seed: int = 0) -> MomentumPanel:
    """r_d = b_i m_d + g_{sector,d} + f_d z_{d-1} + c s_{d-1} + e_d (log returns), with z the
    standardized 12-1 momentum of the close of d - 1 (the engine's descriptor:
    log p_{d-22} - log p_{d-253}) and f_d ~ N(0.001, 0.0008) the momentum premium."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2015-01-02", periods=n_days)
    tickers = [f"M{i:03d}" for i in range(n_names)]
    loading = rng.uniform(0.5, 1.5, n_names)
    sector = np.arange(n_names) % len(SECTORS)
    market = rng.normal(0.0003, 0.01, n_days)
    sector_moves = rng.normal(0.0, 0.004, (n_days, len(SECTORS)))
    premium = rng.normal(0.001, 0.0008, n_days)
    specific = rng.standard_normal((n_days, n_names))
    noise = rng.normal(0.0, 0.015, (n_days, n_names)) * rng.uniform(0.7, 1.3, n_names)
    log_price = np.empty((n_days, n_names))
    log_price[0] = np.log(rng.uniform(20, 200, n_names))
    exposure = np.zeros((n_days, n_names))
    for d in range(1, n_days):
        if d - 1 >= 252:
            raw = log_price[d - 22] - log_price[d - 253]
            exposure[d - 1] = standardize(raw[None, :])[0]
        move = loading * market[d] + sector_moves[d, sector] + noise[d]
        move += premium[d] * exposure[d - 1] + 0.001 * specific[d - 1]
        log_price[d] = log_price[d - 1] + move
    close = pd.DataFrame(np.exp(log_price), index=dates, columns=tickers)
    volume = pd.DataFrame(
        np.round(rng.lognormal(13, 1, n_names) * rng.lognormal(0, 0.3, close.shape)),
        index=dates,
        columns=tickers,
    )
    sectors = {t: SECTORS[s] for t, s in zip(tickers, sector, strict=True)}
    prices = WidePrices(close, volume, close / close.shift() - 1, sectors)
    signal = exposure + rng.normal(0.0, 0.3, exposure.shape)
    signal[:252] = np.nan  # no momentum before a year of prices
    return MomentumPanel(
        prices,
        pd.DataFrame(signal, index=dates, columns=tickers),
        pd.DataFrame(specific, index=dates, columns=tickers),
        pd.Series(premium, index=dates),
    )


@pytest.fixture(scope="session")
def momentum() -> MomentumPanel:
    return momentum_panel()
