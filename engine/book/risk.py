"""Risk of a book from its daily returns: volatility, beta, VaR and CVaR, max drawdown.

Conventions (each checked by hand in tests/engine/book/test_risk.py):

- Returns are simple daily returns of the book's value, rows <= t only.
- Historical VaR at level ``a`` (0.95, 0.99) of n returns sorted ascending
  r(1) <= ... <= r(n) is the loss at the k-th smallest return, k = ceil(n (1 - a)) (the
  lower empirical quantile, numpy's "inverted_cdf"): VaR = -r(k). Historical CVaR is the
  mean loss of those k worst returns: -(r(1) + ... + r(k)) / k.
- Parametric (normal) VaR = -(mu + z sigma), z = scipy.stats.norm.ppf(1 - a) (negative),
  mu the mean and sigma the sample standard deviation (ddof 1); normal CVaR =
  -(mu - sigma phi(z) / (1 - a)).
- VaR and CVaR are 1-day losses as fractions of the book's value (positive = a loss);
  times the value they are in currency.
- Volatility and max drawdown are engine.metrics' (``annual_volatility``,
  ``max_drawdown``); beta = cov(r, m) / var(m) over the dates both have a return.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from engine.metrics import annual_volatility, max_drawdown

LEVELS = (0.95, 0.99)
MIN_RETURNS = 20  # fewer daily returns than this give no risk figures
RISK_COLUMNS = ("method", "level", "var", "cvar", "var_amount", "cvar_amount")


def _tail_count(n: int, level: float) -> int:
    # 1e-9 keeps 40 x (1 - 0.95) = 2.0000000000000018 from rounding up to 3
    return max(1, math.ceil(n * (1.0 - level) - 1e-9))


def historical_var(returns: np.ndarray, level: float) -> float:
    """-r(k), k = ceil(n (1 - level)): the loss at the k-th smallest return."""
    ordered = np.sort(np.asarray(returns, dtype=float))
    return float(-ordered[_tail_count(len(ordered), level) - 1])


def historical_cvar(returns: np.ndarray, level: float) -> float:
    """The mean loss of the k = ceil(n (1 - level)) worst returns."""
    ordered = np.sort(np.asarray(returns, dtype=float))
    return float(-ordered[: _tail_count(len(ordered), level)].mean())


def parametric_var(returns: np.ndarray, level: float) -> float:
    """-(mu + z sigma) with z = norm.ppf(1 - level) and sigma with ddof 1."""
    r = np.asarray(returns, dtype=float)
    return float(-(r.mean() + stats.norm.ppf(1.0 - level) * r.std(ddof=1)))


def parametric_cvar(returns: np.ndarray, level: float) -> float:
    """The normal expected shortfall: -(mu - sigma phi(z) / (1 - level))."""
    r = np.asarray(returns, dtype=float)
    z = stats.norm.ppf(1.0 - level)
    return float(-(r.mean() - r.std(ddof=1) * stats.norm.pdf(z) / (1.0 - level)))


def beta(returns: pd.Series, market: pd.Series) -> float:
    """cov(r, m) / var(m) (ddof 1) over the dates both have a return; NaN below 3."""
    both = pd.concat([returns, market], axis=1, join="inner").dropna()
    if len(both) < 3 or both.iloc[:, 1].var() == 0:
        return np.nan
    return float(both.cov().iloc[0, 1] / both.iloc[:, 1].var())


@dataclass(frozen=True)
class RiskReport:
    """The book's risk at one date. ``table``: ``RISK_COLUMNS``, one row per method
    (historical, parametric) and level; amounts in the book's currency."""

    value: float
    returns: int
    volatility: float
    beta: float
    max_drawdown: float
    table: pd.DataFrame


def compute_risk(
    value: pd.Series, market: pd.Series | None = None, levels: tuple[float, ...] = LEVELS
) -> RiskReport | None:
    """Risk of the book whose value by date is ``value`` (rows <= t); beta against the
    closes ``market`` (the index) where given. None with fewer than ``MIN_RETURNS``
    daily returns: too few to say anything."""
    returns = value.pct_change(fill_method=None).dropna()
    if len(returns) < MIN_RETURNS:
        return None
    r = returns.to_numpy()
    rows = []
    for method, var, cvar in (
        ("historical", historical_var, historical_cvar),
        ("parametric (normal)", parametric_var, parametric_cvar),
    ):
        for level in levels:
            v, c = var(r, level), cvar(r, level)
            rows.append((method, level, v, c, v * value.iloc[-1], c * value.iloc[-1]))
    market_returns = (
        market.pct_change(fill_method=None) if market is not None else pd.Series(dtype=float)
    )
    return RiskReport(
        float(value.iloc[-1]),
        len(r),
        annual_volatility(r),
        beta(returns, market_returns),
        max_drawdown(r),
        pd.DataFrame(rows, columns=list(RISK_COLUMNS)),
    )
