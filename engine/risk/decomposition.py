"""Risk decomposition of a weight vector under a factor risk model (Euler allocation).

With portfolio factor exposures ``x = B' w`` the daily variance is
``w' (B F B' + D) w = x' F x + sum_i w_i^2 D_i``. Volatility is homogeneous of degree one
in the weights, so Euler's theorem splits it exactly:

- by factor: factor j contributes ``x_j (F x)_j / sigma`` and the specific part
  ``sum_i w_i^2 D_i / sigma``; together they add up to ``sigma``;
- by name: name i's marginal contribution is ``(Sigma w)_i / sigma`` and its contribution
  ``w_i (Sigma w)_i / sigma``; together they add up to ``sigma``.

Dividing a contribution by ``sigma`` gives its share of the variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.metrics import TRADING_DAYS
from engine.risk.models import RiskModel


@dataclass(frozen=True)
class RiskDecomposition:
    """Where a portfolio's (daily) volatility comes from.

    Attributes
    ----------
    volatility : float
        sigma, the daily volatility ``sqrt(w' Sigma w)``.
    exposures : Series of shape (K,)
        The portfolio's factor exposures ``B' w``.
    factor_contributions : Series of shape (K,)
        Each factor's contribution to sigma.
    specific_contribution : float
        The specific part of sigma; with the factor contributions it adds up to sigma.
    marginal : Series of shape (N,)
        d sigma / d w_i.
    name_contributions : Series of shape (N,)
        ``w_i`` times its marginal contribution; they add up to sigma.
    """

    volatility: float
    exposures: pd.Series
    factor_contributions: pd.Series
    specific_contribution: float
    marginal: pd.Series
    name_contributions: pd.Series

    @property
    def annual_volatility(self) -> float:
        return self.volatility * float(np.sqrt(TRADING_DAYS))


def compute_risk_decomposition(weights: pd.Series, model: RiskModel) -> RiskDecomposition:
    """Euler decomposition of ``weights``' volatility under ``model``.

    Parameters
    ----------
    weights : Series of shape (N',)
        Weights by ticker, every ticker in the model (a model ticker without a weight
        holds 0); NaN counts as 0.
    model : RiskModel

    Returns
    -------
    RiskDecomposition
        Contributions in daily volatility units; all zero for a zero portfolio.
    """
    unknown = weights.index.difference(model.tickers)
    if len(unknown):
        raise ValueError(f"weights for tickers outside the risk model: {list(unknown)[:5]}")
    w = weights.reindex(model.tickers).fillna(0.0).to_numpy(dtype=float)
    B = model.exposures.to_numpy()
    F = model.factor_cov.to_numpy()
    D = model.specific_var.to_numpy()
    x = B.T @ w
    Fx = F @ x
    covariance_w = B @ Fx + D * w  # Sigma w without forming Sigma
    variance = float(w @ covariance_w)
    sigma = float(np.sqrt(max(variance, 0.0)))
    inverse = 1.0 / sigma if sigma > 0 else 0.0
    return RiskDecomposition(
        volatility=sigma,
        exposures=pd.Series(x, index=model.factors, name="exposure"),
        factor_contributions=pd.Series(x * Fx * inverse, index=model.factors, name="contribution"),
        specific_contribution=float(np.sum(w * w * D) * inverse),
        marginal=pd.Series(covariance_w * inverse, index=model.tickers, name="marginal"),
        name_contributions=pd.Series(
            w * covariance_w * inverse, index=model.tickers, name="contribution"
        ),
    )
