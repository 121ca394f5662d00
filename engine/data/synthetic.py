"""Seeded synthetic OHLCV panels for tests and benchmarks. Never offered as market data.

Three kinds:

- ``random``: log returns with GARCH(1,1) volatility clustering, overnight gaps and
  volume that rises with the size of the move.
- ``null``: a pure random walk (constant volatility, zero drift): nothing in it predicts
  the future, so an honest pipeline must find no edge.
- ``planted``: a latent AR(1) signal ``s_t`` (unit variance) drives the next day's
  return, ``r_{t+1} = beta * sigma * s_t + sigma * sqrt(1 - beta^2) * e_{t+1}``, and is
  observable at t through the close's location in the day's range,
  ``CLV_t = (2c - h - l) / (h - l) = tanh(s_t / 2)``. ``true_probability_up`` gives the
  exact P(close_{t+h} > close_t | s_t), so recovered probabilities can be checked.

Dates are real NYSE sessions ending at ``end``; tickers are ``SYN0000``, ``SYN0001``...
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from engine.data.calendar import nyse_calendar
from engine.data.schema import FetchResult, Progress, to_normalized

KINDS = ("random", "null", "planted")
DEFAULT_END = "2022-12-30"


@dataclass(frozen=True)
class SyntheticPanel:
    """A generated panel.

    Attributes
    ----------
    prices : pd.DataFrame
        Normalized long frame, shape (n_tickers * n_days, 7).
    truth : pd.DataFrame or None
        For ``planted``: columns ticker, date, signal (s_t). None otherwise.
    kind : str
    beta, phi : float
        Signal strength and persistence (planted; 0 otherwise).
    """

    prices: pd.DataFrame
    truth: pd.DataFrame | None
    kind: str
    beta: float
    phi: float


def synthetic_tickers(n: int) -> list[str]:
    """``SYN0000`` ... the names synthetic panels use."""
    return [f"SYN{i:04d}" for i in range(n)]


def _sessions(n_days: int, end: str) -> pd.DatetimeIndex:
    sessions = nyse_calendar().sessions
    sessions = sessions[sessions <= pd.Timestamp(end)]
    if n_days > len(sessions):
        raise ValueError(f"n_days={n_days} exceeds the {len(sessions)} sessions before {end}")
    return sessions[-n_days:].astype("datetime64[ns]")


def _garch_returns(rng: np.random.Generator, n_days: int, sigma: np.ndarray) -> np.ndarray:
    """(n_days, n_tickers) returns whose volatility clusters around ``sigma``."""
    alpha, persistence = 0.08, 0.97
    omega = sigma**2 * (1 - persistence)
    var = sigma**2
    out = np.empty((n_days, sigma.size))
    shocks = rng.standard_normal((n_days, sigma.size))
    for t in range(n_days):
        out[t] = np.sqrt(var) * shocks[t]
        var = omega + alpha * out[t] ** 2 + (persistence - alpha) * var
    return out


def _ar1(rng: np.random.Generator, n_days: int, n: int, phi: float) -> np.ndarray:
    """(n_days, n) stationary AR(1) with unit variance."""
    s = np.empty((n_days, n))
    s[0] = rng.standard_normal(n)
    innovations = rng.standard_normal((n_days, n)) * np.sqrt(1 - phi**2)
    for t in range(1, n_days):
        s[t] = phi * s[t - 1] + innovations[t]
    return s


def make_panel(
    n_tickers: int = 155,
    n_days: int = 1260,
    *,
    kind: str = "random",
    seed: int = 0,
    end: str = DEFAULT_END,
    beta: float = 0.1,
    phi: float = 0.9,
    missing_fraction: float = 0.0,
) -> SyntheticPanel:
    """Generate a panel; the same arguments always give the same frame.

    Parameters
    ----------
    n_tickers, n_days : panel size (rows = n_tickers * n_days before missing rows).
    kind : "random", "null" or "planted".
    seed : random seed.
    end : last session date.
    beta, phi : planted signal strength (correlation of s_t with the next return) and
        AR(1) persistence; ignored unless kind == "planted".
    missing_fraction : share of rows dropped at random (missing sessions), default 0.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown synthetic kind {kind!r}; expected one of {KINDS}")
    rng = np.random.default_rng(seed)
    dates = _sessions(n_days, end)
    sigma = rng.uniform(0.01, 0.03, n_tickers)
    signal = None
    if kind == "random":
        returns = _garch_returns(rng, n_days, sigma)
        clv = rng.beta(2, 2, (n_days, n_tickers)) * 2 - 1
    else:
        noise = rng.standard_normal((n_days, n_tickers)) * sigma
        if kind == "null":
            returns, clv = noise, rng.beta(2, 2, (n_days, n_tickers)) * 2 - 1
        else:
            signal = _ar1(rng, n_days, n_tickers, phi)
            returns = noise * np.sqrt(1 - beta**2)
            returns[1:] += beta * sigma * signal[:-1]  # s_t drives r_{t+1} only
            clv = np.tanh(signal / 2)
    close = 50 * rng.lognormal(0, 0.5, n_tickers) * np.exp(np.cumsum(returns, axis=0))
    day_range = close * sigma * (0.8 + np.abs(rng.standard_normal((n_days, n_tickers))))
    high = close + day_range * (1 - clv) / 2
    low = close - day_range * (1 + clv) / 2
    open_ = low + rng.beta(2, 2, (n_days, n_tickers)) * (high - low)
    base_volume = rng.lognormal(13, 1, n_tickers)
    volume = np.round(
        base_volume
        * np.exp(0.5 * np.abs(returns) / sigma + 0.3 * rng.standard_normal(returns.shape))
    )

    tickers = synthetic_tickers(n_tickers)
    long = pd.DataFrame(
        {
            "ticker": np.tile(tickers, n_days),
            "date": np.repeat(dates.to_numpy(), n_tickers),
            "open": open_.ravel(),
            "high": high.ravel(),
            "low": low.ravel(),
            "close": close.ravel(),
            "volume": volume.ravel(),
        }
    )
    truth = None
    if signal is not None:
        truth = long[["ticker", "date"]].assign(signal=signal.ravel())
    if missing_fraction > 0:
        keep = rng.random(len(long)) >= missing_fraction
        long = long[keep]
        truth = truth[keep] if truth is not None else None
    prices = to_normalized(long)
    if truth is not None:
        truth = truth.sort_values(["ticker", "date"]).reset_index(drop=True)
    return SyntheticPanel(
        prices, truth, kind, beta if signal is not None else 0.0, phi if signal is not None else 0.0
    )


def true_probability_up(signal: np.ndarray, horizon: int, beta: float, phi: float) -> np.ndarray:
    """Exact P(close_{t+h} > close_t | s_t) for the planted panel.

    The h-day log return is Gaussian given s_t: mean ``beta*sigma*s_t*A`` with
    ``A = sum_{k<h} phi^k``, plus the unforeseen part from the signal's future
    innovations and the noise. sigma cancels, so the probability depends on s_t only.
    """
    a = sum(phi**k for k in range(horizon))
    future = sum(((1 - phi ** (horizon - j)) / (1 - phi)) ** 2 for j in range(1, horizon))
    var = beta**2 * (1 - phi**2) * future + horizon * (1 - beta**2)
    return norm.cdf(beta * a * np.asarray(signal) / np.sqrt(var))


class SyntheticProvider:
    """Provider interface over ``make_panel`` for tests and benchmarks only."""

    name = "synthetic"
    adjusted = True

    def __init__(self, n_days: int = 1260, kind: str = "random", seed: int = 0) -> None:
        self.n_days = n_days
        self.kind = kind
        self.seed = seed

    def fetch(
        self,
        tickers: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        progress: Progress | None = None,
    ) -> FetchResult:
        """A panel with ``tickers`` renamed onto the generated columns."""
        panel = make_panel(len(tickers), self.n_days, kind=self.kind, seed=self.seed)
        names = dict(zip(synthetic_tickers(len(tickers)), tickers, strict=True))
        prices = panel.prices.assign(ticker=panel.prices["ticker"].map(names))
        if progress:
            progress(1.0, f"Generated {len(tickers)} synthetic ticker(s)")
        return FetchResult(self.name, to_normalized(prices), self.adjusted)
