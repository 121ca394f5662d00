"""Factor risk models, neutralization, return attribution and risk decomposition.

Everything as of a date t uses data dated <= t only.

- ``descriptors``: raw style descriptors from a wide close (and volume) panel, and the
  per-date standardization (winsorized robust z, then z-score);
- ``exposures``: ``Exposures`` (D x N x K) of sector dummies and standardized styles;
- ``regression``: the one per-date cross-sectional WLS solver, batched over dates;
- ``factor_returns``: ``FactorReturns`` of each date from the previous date's exposures;
- ``covariance``: ``RiskModelParams`` and the factor covariance / specific variance
  estimators every model shares;
- ``models``: ``RiskModel`` (B, F, D) as of t: characteristics, time-series, statistical;
- ``neutralization``: scores minus their regression on the exposures of their date;
- ``attribution``: daily and Carino-linked factor / specific parts of a portfolio return;
- ``decomposition``: Euler contributions to volatility by factor and by name.
"""

from engine.risk.attribution import Attribution, attribution_intervals, compute_attribution
from engine.risk.covariance import RiskModelParams
from engine.risk.decomposition import RiskDecomposition, compute_risk_decomposition
from engine.risk.descriptors import STYLES, compute_descriptors, standardize
from engine.risk.exposures import Exposures, compute_exposures
from engine.risk.factor_returns import FactorReturns, compute_factor_returns
from engine.risk.models import (
    RiskModel,
    compute_characteristic_model,
    compute_statistical_model,
    compute_time_series_model,
)
from engine.risk.neutralization import neutralize, neutralize_panel
from engine.risk.regression import cross_sectional_wls

__all__ = [
    "STYLES",
    "Attribution",
    "attribution_intervals",
    "Exposures",
    "FactorReturns",
    "RiskDecomposition",
    "RiskModel",
    "RiskModelParams",
    "compute_attribution",
    "compute_characteristic_model",
    "compute_descriptors",
    "compute_exposures",
    "compute_factor_returns",
    "compute_risk_decomposition",
    "compute_statistical_model",
    "compute_time_series_model",
    "cross_sectional_wls",
    "neutralize",
    "neutralize_panel",
    "standardize",
]
