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

Two options add a market (both off by default; every panel made without them is unchanged):

- ``market_vol`` > 0 adds a common market factor to every ticker's daily log return,
  ``r_it += b_i * m_t`` with ``m_t ~ N(0, market_vol)`` iid (unpredictable) and loadings
  ``b_i ~ U(0.5, 1.5)``, drawn from their own stream (``default_rng(seed + 1)``) so the
  stock-level draws stay those of the same panel without a market. The market moves
  every stock together and adds cross-sectional dispersion ``(b_i - mean b) m_t`` only,
  so absolute direction becomes mostly market timing while the planted signal stays
  purely cross-sectional. ``SyntheticPanel.market`` and ``.loadings`` hold m and b.
- ``index_ticker`` (e.g. ``"^GSPC"``, with ``market_vol`` > 0) adds the market as an
  index: close ``100 * exp(cumsum(m))`` with high, low and open around it as for the
  stocks, and a volume. It is never missing and never in ``truth``.

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
    market : pd.Series or None
        The market factor's daily log return m_t by date, shape (n_days,), where
        ``market_vol`` > 0. None otherwise.
    loadings : pd.Series or None
        Each ticker's loading b_i on the market, shape (n_tickers,); None without market.
    """

    prices: pd.DataFrame
    truth: pd.DataFrame | None
    kind: str
    beta: float
    phi: float
    market: pd.Series | None = None
    loadings: pd.Series | None = None


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
    market_vol: float = 0.0,
    index_ticker: str | None = None,
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
    missing_fraction : share of stock rows dropped at random (missing sessions), default 0.
    market_vol : daily volatility of the common market factor m_t (0: none). Adds
        ``b_i * m_t`` to every ticker's log return, b_i ~ U(0.5, 1.5).
    index_ticker : name of an index ticker that carries the market (needs market_vol > 0);
        None: no index rows.
    """
    if kind not in KINDS:
        raise ValueError(f"Unknown synthetic kind {kind!r}; expected one of {KINDS}")
    if market_vol < 0:
        raise ValueError(f"market_vol must be >= 0, got {market_vol}")
    if index_ticker is not None and not market_vol > 0:
        raise ValueError("an index ticker needs a market: set market_vol > 0")
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
    market = loadings = None
    if market_vol > 0:  # its own stream: the draws above are those of a panel without it
        market_rng = np.random.default_rng(seed + 1)
        loadings = market_rng.uniform(0.5, 1.5, n_tickers)
        market = market_rng.normal(0.0, market_vol, n_days)
        returns = returns + market[:, None] * loadings[None, :]
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
    if index_ticker is not None:
        long = pd.concat([long, _index_rows(market_rng, index_ticker, dates, market, market_vol)])
    prices = to_normalized(long)
    if truth is not None:
        truth = truth.sort_values(["ticker", "date"]).reset_index(drop=True)
    planted = signal is not None
    return SyntheticPanel(
        prices,
        truth,
        kind,
        beta if planted else 0.0,
        phi if planted else 0.0,
        market=None if market is None else pd.Series(market, index=dates, name="market"),
        loadings=None if loadings is None else pd.Series(loadings, index=tickers, name="loading"),
    )


def _index_rows(
    rng: np.random.Generator, ticker: str, dates: pd.DatetimeIndex, market: np.ndarray, vol: float
) -> pd.DataFrame:
    """OHLCV rows of an index whose daily log return is ``market``, shape (n_days,)."""
    close = 100.0 * np.exp(np.cumsum(market))
    clv = rng.beta(2, 2, len(dates)) * 2 - 1
    day_range = close * vol * (0.8 + np.abs(rng.standard_normal(len(dates))))
    high = close + day_range * (1 - clv) / 2
    low = close - day_range * (1 + clv) / 2
    return pd.DataFrame(
        {
            "ticker": ticker,
            "date": dates.to_numpy(),
            "open": low + rng.beta(2, 2, len(dates)) * (high - low),
            "high": high,
            "low": low,
            "close": close,
            "volume": np.round(rng.lognormal(20, 0.3, len(dates))),
        }
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
