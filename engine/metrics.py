"""Out-of-sample forecast metrics, each with a bootstrap interval.

Rows of one date share the market's move, so intervals resample whole dates (a block
bootstrap over dates), not rows: resampling rows would pretend to more independent
evidence than the data holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided bootstrap interval at ``level``."""

    estimate: float
    low: float
    high: float
    level: float = 0.95

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)

    def as_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


def bootstrap_interval(
    statistic: Callable[..., float],
    *arrays: np.ndarray,
    groups: np.ndarray | None = None,
    n_boot: int = 500,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile interval of ``statistic(*arrays)`` resampling ``groups`` (e.g. dates).

    Each replicate draws as many groups as there are, with replacement, and keeps all
    rows of each drawn group. Replicates where the statistic is undefined are skipped.
    """
    arrays = tuple(np.asarray(a) for a in arrays)
    estimate = float(statistic(*arrays))
    n = len(arrays[0])
    if groups is None:
        members = [np.array([i]) for i in range(n)]
    else:
        codes, _ = pd.factorize(np.asarray(groups))
        order = np.argsort(codes, kind="stable")
        members = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        picked = rng.integers(0, len(members), len(members))
        rows = np.concatenate([members[i] for i in picked])
        try:
            value = float(statistic(*(a[rows] for a in arrays)))
        except ValueError:  # e.g. a replicate with one class only
            continue
        if np.isfinite(value):
            values.append(value)
    if not values:
        return Interval(estimate, np.nan, np.nan, level)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return Interval(estimate, float(low), float(high), level)


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half), as roc_auc_score computes
    it, without its input checks: bootstraps call this hundreds of times."""
    y = np.asarray(y) == 1
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both outcomes")
    ranks = stats.rankdata(p)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean((p >= 0.5) == (y == 1)))


def base_rate_accuracy(y: np.ndarray) -> float:
    """Accuracy of always predicting the more frequent class."""
    rate = float(np.mean(y))
    return max(rate, 1.0 - rate)


def daily_ic(dates: np.ndarray, prediction: np.ndarray, realized: np.ndarray) -> pd.DataFrame:
    """Per date, the cross-sectional Pearson IC and Spearman rank IC.

    Dates with fewer than 3 names or no dispersion have no IC (dropped).
    """
    frame = pd.DataFrame({"date": dates, "p": prediction, "r": realized}).dropna()
    rows = []
    for date, day in frame.groupby("date", sort=True):
        if len(day) < 3 or day["p"].nunique() < 2 or day["r"].nunique() < 2:
            continue
        rows.append(
            (
                date,
                float(np.corrcoef(day["p"], day["r"])[0, 1]),
                float(stats.spearmanr(day["p"], day["r"]).statistic),
                len(day),
            )
        )
    return pd.DataFrame(rows, columns=["date", "ic", "rank_ic", "names"]).set_index("date")


def ic_summary(ic: pd.Series, *, block: int = 5, n_boot: int = 500, seed: int = 0) -> dict:
    """Mean IC with a moving-block bootstrap interval (blocks of ``block`` dates, since
    overlapping label horizons make neighbouring days' ICs correlated), and ICIR =
    mean / standard deviation of the daily IC.
    """
    values = ic.dropna().to_numpy()
    if len(values) < 2 * block:
        nan = Interval(np.nan, np.nan, np.nan)
        return {"mean": nan, "icir": np.nan, "days": len(values)}
    groups = np.arange(len(values)) // block
    mean = bootstrap_interval(np.mean, values, groups=groups, n_boot=n_boot, seed=seed)
    spread = float(np.std(values, ddof=1))
    return {
        "mean": mean,
        "icir": mean.estimate / spread if spread > 0 else np.nan,
        "days": len(values),
    }


def classification_metrics(
    y: np.ndarray, p: np.ndarray, dates: np.ndarray, *, n_boot: int = 500, seed: int = 0
) -> dict[str, Interval | float]:
    """AUC and accuracy with date-block intervals, and the base-rate accuracy to beat."""
    return {
        "auc": bootstrap_interval(auc, y, p, groups=dates, n_boot=n_boot, seed=seed),
        "accuracy": bootstrap_interval(accuracy, y, p, groups=dates, n_boot=n_boot, seed=seed),
        "base_rate_accuracy": base_rate_accuracy(y),
        "n": len(y),
    }


# --- trading performance ------------------------------------------------------------------

TRADING_DAYS = 252
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
