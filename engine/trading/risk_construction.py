"""The risk side of portfolio construction: the covariance a decision uses and skfolio's
optimizers on it (HRP, minimum variance, Black-Litterman).

Everything at decision row t reads rows <= t only.

- ``RiskInputs``: the characteristic factor risk model (engine.risk) of a universe, as of
  each decision date: covariance ``B F B' + D`` and exposures B of any tickers.
- ``decision_covariance``: the daily covariance of a decision's names by
  ``ConstructionParams.covariance_source``: ``"sample"`` (none here: skfolio's empirical
  covariance in the optimizers, one assumed correlation in the caps: the original rule),
  ``"ledoit_wolf"`` (scikit-learn's ``LedoitWolf`` on the trailing ``lookback`` returns)
  or ``"factor"`` (the risk model; without ``RiskInputs`` it falls back to sample and the
  binding text says so). The optimizers receive it as a fixed covariance estimator; the
  volatility target prices the book with it (``engine.trading.sizing.apply_caps``).
- ``risk_weights``: skfolio's ``HierarchicalRiskParity`` (with the covariance's own
  correlation distance), ``MeanRisk`` (minimum variance) or, for ``black_litterman``,
  ``MeanRisk`` maximizing the Sharpe ratio (long-only, fully invested) on skfolio's
  ``BlackLitterman`` prior. Its prior is the equilibrium of an equal-weight book
  (``EquilibriumMu``), under which the maximum-Sharpe book is equal weight; each name
  with a forecast p != 0.5 adds the view "return = equilibrium + (p - 0.5) x 2 x
  ``view_scale``" (``view_scale``: the run's mean absolute outcome return per session)
  with Idzorek confidence ``2 |p - 0.5|``. Maximum Sharpe is invariant to the scale of
  the covariance, so with no views the weights are the prior-only optimization's.

The factor-neutral book is in engine.trading.neutral.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.covariance import LedoitWolf

from engine.features.panel import WidePanel
from engine.risk import (
    Exposures,
    FactorReturns,
    RiskModel,
    RiskModelParams,
    compute_characteristic_model,
)
from engine.trading.sizing import BookCovariance

if TYPE_CHECKING:
    from engine.trading.construction import ConstructionParams

__all__ = [
    "COVARIANCE_SOURCES",
    "MIN_RISK_SESSIONS",
    "RiskInputs",
    "decision_covariance",
    "forecast_views",
    "risk_weights",
    "trailing_returns",
    "view_scale",
]

COVARIANCE_SOURCES = ("sample", "ledoit_wolf", "factor")
MIN_RISK_SESSIONS = 20  # complete daily returns below which the optimizers weigh equally


@dataclass(frozen=True)
class RiskInputs:
    """A universe's characteristic risk model history, read as of each decision date.

    Parameters
    ----------
    exposures : Exposures
        ``engine.risk.compute_exposures`` of the universe (each date's from rows <= it).
    factor_returns : FactorReturns
        ``engine.risk.compute_factor_returns`` of the same exposures.
    params : RiskModelParams
        Window and estimator of F and D.

    The model of the latest exposure date <= the decision date is computed once and kept
    until another date is asked for (a decision asks several times).
    """

    exposures: Exposures
    factor_returns: FactorReturns
    params: RiskModelParams = field(default_factory=RiskModelParams)
    _models: dict[int, RiskModel] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def model(self, date: pd.Timestamp) -> RiskModel:
        """The characteristic model as of ``date`` (its latest exposure date <= date);
        ValueError before the first date or with under two sessions of factor returns."""
        row = self.exposures.position(date)
        if row not in self._models:
            self._models.clear()
            self._models[row] = compute_characteristic_model(
                self.exposures, self.factor_returns, self.exposures.dates[row], self.params
            )
        return self._models[row]

    def covariance(self, date: pd.Timestamp, tickers) -> pd.DataFrame:
        """(n, n) daily ``B F B' + D`` of ``tickers`` as of ``date``; NaN for a ticker
        outside the universe."""
        cov = self.model(date).covariance()
        return cov.reindex(index=list(tickers), columns=list(tickers))

    def exposures_at(self, date: pd.Timestamp, tickers) -> pd.DataFrame:
        """(n, K) exposures of ``tickers`` as of ``date`` (the latest date <= it); NaN
        rows for a ticker outside the universe."""
        return self.exposures.at(date).reindex(list(tickers))


def view_scale(outcome_returns: tuple[float, float], horizon: int) -> float:
    """The run's mean absolute outcome return per session: the mean size of its up and
    down training outcomes (``outcome_returns_``) over the label ``horizon``; NaN when
    unknown (Black-Litterman then takes no views)."""
    up, down = outcome_returns
    return float((abs(up) + abs(down)) / 2.0 / horizon)


def forecast_views(p: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Each name's expected excess return per session, ``(p - 0.5) x 2 x scale``, and
    its Idzorek confidence ``2 |p - 0.5|``, both shape (N,); NaN where p is 0.5 or
    unknown, or ``scale`` is not a positive number (no view)."""
    p = np.asarray(p, dtype=float)
    edge = np.where(np.isfinite(p) & (p != 0.5), p - 0.5, np.nan)
    if not (np.isfinite(scale) and scale > 0):
        edge[:] = np.nan
    return 2.0 * edge * scale, np.clip(2.0 * np.abs(edge), 0.0, 1.0)


def trailing_returns(panel: WidePanel, i: int, columns: np.ndarray, lookback: int) -> np.ndarray:
    """Daily returns (T', n) of the ``columns`` over the ``lookback`` sessions up to row
    ``i`` (rows <= i only); a row where any of them lacks a return is left out."""
    close = panel.close[max(0, i - lookback) : i + 1, columns]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = close[1:] / close[:-1] - 1.0
    return returns[np.isfinite(returns).all(axis=1)]


def decision_covariance(
    panel: WidePanel,
    i: int,
    names: np.ndarray,
    params: ConstructionParams,
    risk: RiskInputs | None,
) -> tuple[BookCovariance | None, str]:
    """The daily covariance (N, N, NaN outside ``names``) of the names that may carry
    weight at row ``i``, by ``params.covariance_source``, and a fallback's reason.

    None for ``"sample"`` (the optimizers estimate their own; the caps assume one
    correlation), for Ledoit-Wolf with fewer complete sessions than
    ``max(MIN_RISK_SESSIONS, n + 1)``, and for ``"factor"`` without ``risk`` or before
    its first model (reason: ``"sample covariance (...)"``).
    """
    n = len(panel.tickers)
    columns = np.flatnonzero(names)
    matrix = np.full((n, n), np.nan)
    if params.covariance_source == "ledoit_wolf":
        returns = trailing_returns(panel, i, columns, params.lookback)
        if len(columns) == 0 or len(returns) < max(MIN_RISK_SESSIONS, len(columns) + 1):
            return None, ""
        matrix[np.ix_(columns, columns)] = LedoitWolf().fit(returns).covariance_
        return BookCovariance(matrix, "Ledoit-Wolf"), ""
    if params.covariance_source != "factor":
        return None, ""
    if risk is None:
        return None, "sample covariance (no risk model)"
    try:
        cov = risk.covariance(panel.dates[i], [panel.tickers[j] for j in columns])
    except ValueError as exc:
        return None, f"sample covariance ({exc})"
    matrix[np.ix_(columns, columns)] = cov.to_numpy()
    return BookCovariance(matrix, "risk model"), ""


@cache
def _fixed_covariance_type() -> type:
    """skfolio covariance estimator whose ``fit`` returns a given matrix (made on first
    use: skfolio is slow to import)."""
    import sklearn.utils.validation as skv  # noqa: PLC0415
    from skfolio.moments import BaseCovariance  # noqa: PLC0415 - slow to import

    class FixedCovariance(BaseCovariance):
        """The ``covariance`` given, whatever returns it is fitted on."""

        def __init__(self, covariance=None, nearest: bool = True) -> None:
            super().__init__(nearest=nearest)
            self.covariance = covariance

        def fit(self, X, y=None, **fit_params):
            skv.validate_data(self, X)
            self._set_covariance(np.array(self.covariance, dtype=float))
            return self

    return FixedCovariance


def _optimizer(method: str, returns: pd.DataFrame, cov: np.ndarray | None, views):
    """The unfitted skfolio optimizer of ``method`` on ``returns`` (T', n), with the fixed
    covariance ``cov`` (None: skfolio's empirical one) and, for Black-Litterman, the
    ``views`` (expected excess return and confidence per column, NaN: none)."""
    from skfolio.distance import CovarianceDistance  # noqa: PLC0415 - slow to import
    from skfolio.moments import EmpiricalCovariance, EquilibriumMu  # noqa: PLC0415
    from skfolio.optimization import (  # noqa: PLC0415
        HierarchicalRiskParity,
        MeanRisk,
        ObjectiveFunction,
    )
    from skfolio.prior import BlackLitterman, EmpiricalPrior  # noqa: PLC0415

    estimator = EmpiricalCovariance() if cov is None else _fixed_covariance_type()(cov)
    fixed = None if cov is None else EmpiricalPrior(covariance_estimator=estimator)
    if method == "hrp":  # clustered on the covariance's own correlations when it is fixed
        distance = None if cov is None else CovarianceDistance(covariance_estimator="precomputed")
        return HierarchicalRiskParity(prior_estimator=fixed, distance_estimator=distance)
    if method == "mean_risk":
        return MeanRisk(prior_estimator=fixed)
    prior = EmpiricalPrior(
        mu_estimator=EquilibriumMu(covariance_estimator=estimator), covariance_estimator=estimator
    )
    excess, confidence = views
    viewed = np.flatnonzero(np.isfinite(excess))
    if len(viewed):
        equilibrium = prior.fit(returns).return_distribution_.mu
        prior = BlackLitterman(
            views=[f"{returns.columns[j]} = {float(equilibrium[j] + excess[j])!r}" for j in viewed],
            prior_estimator=prior,
            view_confidences=np.maximum(confidence[viewed], 1e-6),
        )
    return MeanRisk(objective_function=ObjectiveFunction.MAXIMIZE_RATIO, prior_estimator=prior)


def risk_weights(
    panel: WidePanel,
    i: int,
    chosen: np.ndarray,
    params: ConstructionParams,
    *,
    covariance: BookCovariance | None = None,
    views: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, str]:
    """skfolio weights (summing to 1) of the ``chosen`` columns (bool, shape (N,)) by
    ``params.method``, fitted on their daily returns over the ``params.lookback``
    sessions up to row ``i`` (``trailing_returns``: rows <= i only).

    Parameters
    ----------
    covariance : BookCovariance, optional
        Daily covariance (N, N) from ``decision_covariance``: the optimizer's fixed
        covariance where finite for every chosen name (else skfolio's empirical one and
        the reason), None: skfolio's empirical covariance of the returns.
    views : expected excess return and confidence per ticker, each shape (N,)
        ``forecast_views``; Black-Litterman only (None or all NaN: no views).

    Returns
    -------
    ndarray of shape (n_chosen,) and the fallback's reason ("" when fitted as asked).
    """
    columns = np.flatnonzero(chosen)
    equal = np.full(len(columns), 1.0 / max(len(columns), 1))
    if len(columns) < 2:
        return equal, ""
    returns = trailing_returns(panel, i, columns, params.lookback)
    needed = max(MIN_RISK_SESSIONS, len(columns) + 1)
    if len(returns) < needed:
        return equal, f"equal weight ({len(returns)} sessions of history < {needed})"
    cov, note = None, ""
    if covariance is not None:
        cov = covariance.subset(columns).matrix
        if not np.isfinite(cov).all():
            cov, note = None, f"sample covariance (no {covariance.source} for every name)"
    from skfolio.exceptions import SkfolioError  # noqa: PLC0415 - slow to import

    blank = np.full(len(panel.tickers), np.nan)
    excess, confidence = views if views is not None else (blank, blank)
    frame = pd.DataFrame(returns, columns=[f"c{c}" for c in columns])
    try:
        model = _optimizer(params.method, frame, cov, (excess[columns], confidence[columns]))
        weights = np.asarray(model.fit(frame).weights_, dtype=float)
    except (SkfolioError, ValueError, ArithmeticError, RuntimeError) as exc:
        return equal, f"equal weight ({params.method} failed: {type(exc).__name__})"
    weights = np.clip(weights, 0.0, None)
    if not np.isfinite(weights).all() or weights.sum() <= 0:
        return equal, f"equal weight ({params.method} gave no usable weights)"
    return weights / weights.sum(), note
