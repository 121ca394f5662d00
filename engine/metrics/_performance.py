"""Trading statistics of daily returns: one Sharpe, one annualization (``TRADING_DAYS``),
drawdown, and the probabilistic and deflated Sharpe ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

TRADING_DAYS = 252  # sessions per year: the one annualization factor
EULER_GAMMA = 0.5772156649015329


def daily_returns(equity: pd.Series) -> np.ndarray:
    return equity.pct_change().dropna().to_numpy()


def cagr(returns: np.ndarray) -> float:
    """Compound annual growth rate of daily returns."""
    growth = float(np.prod(1.0 + returns))
    return growth ** (TRADING_DAYS / len(returns)) - 1.0 if growth > 0 else -1.0


def annual_volatility(returns: np.ndarray) -> float:
    return float(np.std(returns, ddof=1) * np.sqrt(TRADING_DAYS))


def sharpe(returns: np.ndarray) -> float:
    """Annualized Sharpe ratio of daily returns (risk-free rate 0)."""
    spread = np.std(returns, ddof=1)
    return float(np.mean(returns) / spread * np.sqrt(TRADING_DAYS)) if spread > 0 else np.nan


def rolling_sharpe(returns: pd.Series, window: int, *, min_periods: int | None = None) -> pd.Series:
    """``sharpe`` of each trailing window, vectorized (pandas' rolling mean and standard
    deviation): row t uses rows t - window + 1 .. t only.

    Parameters
    ----------
    returns : Series of shape (T,)
        Daily returns in date order; NaN rows are left out of their windows.
    window : int
        Rows per window.
    min_periods : int, optional
        Fewest returns a window needs (default ``window``); fewer give NaN.

    Returns
    -------
    Series of shape (T,)
        NaN where the window is short or its returns do not vary (as ``sharpe``).
    """
    roll = returns.rolling(window, min_periods=min_periods)
    spread = roll.std(ddof=1)
    return (roll.mean() / spread * np.sqrt(TRADING_DAYS)).where(spread > 0)


def sortino(returns: np.ndarray) -> float:
    """Annualized mean over downside deviation (root mean square of negative returns)."""
    downside = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
    return float(np.mean(returns) / downside * np.sqrt(TRADING_DAYS)) if downside > 0 else np.nan


def max_drawdown(returns: np.ndarray) -> float:
    """Largest peak-to-trough fall of the compounded curve (a negative number)."""
    curve = np.cumprod(1.0 + np.concatenate([[0.0], returns]))
    return float(np.min(curve / np.maximum.accumulate(curve) - 1.0))


def calmar(returns: np.ndarray) -> float:
    drawdown = max_drawdown(returns)
    return cagr(returns) / abs(drawdown) if drawdown < 0 else np.nan


def probabilistic_sharpe(returns: np.ndarray, benchmark_sharpe: float = 0.0) -> float:
    """PSR (Bailey and Lopez de Prado, 2012): P(true Sharpe > benchmark) given the sample's
    length, skewness and kurtosis. Both Sharpe ratios per period (not annualized)."""
    n = len(returns)
    sr = np.mean(returns) / np.std(returns, ddof=1)
    skew = stats.skew(returns)
    kurt = stats.kurtosis(returns, fisher=False)
    return psr_from_moments(sr, n, skew, kurt, benchmark_sharpe)


def psr_from_moments(sr: float, n: int, skew: float, kurt: float, benchmark: float) -> float:
    """PSR from the moments: Phi((SR - SR*) sqrt(n - 1) / sqrt(1 - g3 SR + (g4 - 1) / 4 SR^2))."""
    scale = np.sqrt(1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr**2)
    return float(stats.norm.cdf((sr - benchmark) * np.sqrt(n - 1) / scale))


def expected_max_sharpe(n_trials: int, trial_sharpe_variance: float) -> float:
    """Expected maximum per-period Sharpe of ``n_trials`` skill-less trials whose Sharpe
    ratios vary with ``trial_sharpe_variance`` (Bailey and Lopez de Prado, 2014)."""
    if n_trials < 2:
        return 0.0
    z1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * np.e))
    return float(np.sqrt(trial_sharpe_variance) * ((1 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def deflated_sharpe(returns: np.ndarray, n_trials: int, trial_sharpe_variance: float) -> float:
    """DSR: the PSR against the Sharpe that the best of ``n_trials`` lucky trials would show."""
    return probabilistic_sharpe(returns, expected_max_sharpe(n_trials, trial_sharpe_variance))


def deflated_sharpes(returns: dict[str, pd.Series]) -> dict[str, float]:
    """Each series' DSR with every series of ``returns`` counted as a trial (a table read
    as one: the zoo's learners, the replayed retraining policies), the trials' Sharpe
    variance taken from them; NaN for a series of fewer than 3 returns."""
    per_period = np.array([sharpe(r.to_numpy()) / np.sqrt(TRADING_DAYS) for r in returns.values()])
    variance = float(np.nanvar(per_period, ddof=1)) if len(per_period) > 1 else 0.0
    return {
        name: deflated_sharpe(r.to_numpy(), len(returns), variance) if len(r) > 2 else np.nan
        for name, r in returns.items()
    }
