"""The estimators every risk model shares: factor covariance F and specific variance D over
a trailing window, and their parameters.

- F: the sample covariance of the window's factor returns (ddof 1, ``np.cov``), or an
  exponentially weighted one (weights halving every ``half_life`` sessions back from the
  newest, normalized to sum to one, divided by ``1 - sum w^2`` so that equal weights give
  the sample covariance exactly), or scikit-learn's ``LedoitWolf`` shrinkage of the
  window toward a scaled identity (sklearn's own estimate: its sample covariance divides
  by T, not T - 1).
- D: each name's variance of its residuals over the window (the same weights over the
  dates it has a residual), shrunk toward the cross-sectional mean by how much history
  it has, ``(n_i s_i^2 + m mean) / (n_i + m)`` with ``m = specific_prior`` sessions (a
  name without two residuals gets the mean), then floored at ``specific_floor``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.covariance import LedoitWolf

COVARIANCES = ("sample", "ewma", "ledoit_wolf")


@dataclass(frozen=True)
class RiskModelParams:
    """How a risk model is estimated from its window (all three kinds).

    Attributes
    ----------
    window : int
        Sessions of history, the as-of date's included (dates <= t only).
    covariance : {"sample", "ewma", "ledoit_wolf"}
        Estimator of the factor covariance.
    half_life : float
        Sessions over which an ``ewma`` weight halves (ignored otherwise).
    specific_prior : float
        Sessions' worth of weight on the cross-sectional mean specific variance.
    specific_floor : float
        Smallest daily specific variance (1e-6: a 0.1% daily specific volatility).
    min_history : float
        Share of the window a name needs returns on to be in a time-series or
        statistical model (its loadings are estimated from them).
    """

    window: int = 252
    covariance: str = "sample"
    half_life: float = 63.0
    specific_prior: float = 21.0
    specific_floor: float = 1e-6
    min_history: float = 0.5

    def __post_init__(self) -> None:
        if self.covariance not in COVARIANCES:
            raise ValueError(f"covariance must be one of {COVARIANCES}, got {self.covariance!r}")
        if self.window < 2 or not self.half_life > 0 or self.specific_prior < 0:
            raise ValueError("window must be >= 2, half_life > 0, specific_prior >= 0")
        if self.specific_floor < 0 or not 0 <= self.min_history <= 1:
            raise ValueError("specific_floor must be >= 0 and min_history in [0, 1]")


def window_weights(sessions: int, params: RiskModelParams) -> np.ndarray:
    """(T,) weights of a window's rows, oldest first, summing to one: equal, or halving
    every ``half_life`` sessions back from the newest under ``ewma``."""
    if params.covariance != "ewma":
        return np.full(sessions, 1.0 / sessions)
    ages = np.arange(sessions - 1, -1, -1, dtype=float)
    weights = 0.5 ** (ages / params.half_life)
    return weights / weights.sum()


def factor_covariance(values: np.ndarray, params: RiskModelParams) -> np.ndarray:
    """(K, K) covariance of the factor returns ``values`` (T, K), all finite, T >= 2."""
    if params.covariance == "ledoit_wolf":
        return LedoitWolf().fit(values).covariance_
    w = window_weights(len(values), params)
    centred = values - w @ values
    return (centred.T * w) @ centred / (1.0 - np.sum(w * w))


def specific_variance(
    residuals: np.ndarray, params: RiskModelParams
) -> tuple[np.ndarray, np.ndarray]:
    """Shrunk, floored specific variances of residuals (T, N) with NaN where unobserved.

    Returns
    -------
    variance : ndarray of shape (N,)
    observed : ndarray of int, shape (N,)
        Residuals each name has in the window.
    """
    seen = np.isfinite(residuals)
    observed = seen.sum(axis=0)
    w = np.where(seen, window_weights(len(residuals), params)[:, None], 0.0)
    total = w.sum(axis=0)
    own = observed >= 2
    w = np.divide(w, total, out=np.zeros_like(w), where=own)
    e = np.where(seen, residuals, 0.0)
    mean = (w * e).sum(axis=0)
    spread = (w * (e - mean) ** 2).sum(axis=0)
    correction = 1.0 - (w * w).sum(axis=0)
    variance = np.divide(spread, correction, out=np.zeros(len(spread)), where=own)
    centre = float(variance[own].mean()) if own.any() else params.specific_floor
    n = np.where(own, observed, 0).astype(float)
    denominator = n + params.specific_prior
    shrunk = np.divide(
        n * variance + params.specific_prior * centre,
        denominator,
        out=np.full(len(n), centre),
        where=denominator > 0,
    )
    return np.maximum(shrunk, params.specific_floor), observed
