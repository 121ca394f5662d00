"""Factor risk models as of a date t: characteristics, time-series and statistical (PCA).

Each gives exposures B (N x K), a factor covariance F (K x K) and specific variances D
(N,), daily, from the window of ``params.window`` sessions ending at t (dates <= t only):
the covariance of the names' next returns is ``B F B' + diag(D)``. F and D are estimated
the same way for all three kinds (engine.risk.covariance).

- characteristics (cross-sectional): B are the exposures known at t (sectors, styles);
  the factor returns are the per-date regressions of ``compute_factor_returns``.
  skfolio 1.12 has a ``CharacteristicsFactorModel``, but it fits its own descriptor and
  exposure estimators on an ``AssetPanel`` and recomputes every factor return on each
  fit; here the exposures are the workbench's own descriptors, the history is computed
  once per panel and each as-of model slices it (a few milliseconds), and the per-date
  solver is shared with neutralization, so the model is written here on that solver.
- time-series: each name's returns regressed on given factor series (factor ETFs, an
  index) with an intercept, by scikit-learn's ``LinearRegression`` on all names at once
  (one least-squares solve). skfolio's ``LoadingMatrixRegression`` fits one regressor per
  name through a ``MultiOutputRegressor``, which a LASSO (its default) needs and OLS does
  not: the same loadings at about a hundred times the cost. F and D are estimated as
  above rather than by skfolio's ``TimeSeriesFactorModel``, so the three kinds share one
  estimator; with ``covariance="sample"``, ``specific_prior=0`` and no floor the loadings,
  F and the covariance equal ``TimeSeriesFactorModel``'s (a test checks).
- statistical: the leading principal components (scikit-learn's ``PCA``) of the window's
  returns standardized per name; B is the components scaled back to each name's
  volatility, the factor returns are the component scores.

Time-series and statistical models need complete rows: a name with returns on fewer
than ``min_history`` of the window's sessions is left out (``excluded``); a missing
return of a kept name is filled with the name's window mean for the fit (counted in
``observed``) and has no residual.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.linear_model import LinearRegression

from engine.risk.covariance import RiskModelParams, factor_covariance, specific_variance
from engine.risk.exposures import Exposures
from engine.risk.factor_returns import FactorReturns


@dataclass(frozen=True)
class RiskModel:
    """A factor risk model as of one date; daily units.

    Attributes
    ----------
    as_of : Timestamp
        The newest date the model used.
    kind : {"characteristics", "time_series", "statistical"}
    exposures : DataFrame of shape (N, K)
        B, tickers by factors.
    factor_cov : DataFrame of shape (K, K)
        F.
    specific_var : Series of shape (N,)
        D, the diagonal of the specific covariance.
    sessions : int
        Dates in the window that had every factor return.
    observed : Series of shape (N,)
        Each name's residuals in the window (fewer: more shrinkage of its D).
    missing : DataFrame of bool, shape (N, K)
        Exposures that were missing and set to 0 (characteristics model only).
    excluded : tuple of str
        Names left out for too little history (time-series and statistical models).
    """

    as_of: pd.Timestamp
    kind: str
    exposures: pd.DataFrame
    factor_cov: pd.DataFrame
    specific_var: pd.Series
    sessions: int
    observed: pd.Series
    missing: pd.DataFrame
    excluded: tuple[str, ...] = ()

    @property
    def tickers(self) -> pd.Index:
        return self.exposures.index

    @property
    def factors(self) -> list[str]:
        return list(self.exposures.columns)

    def covariance(self) -> pd.DataFrame:
        """(N, N) ``B F B' + diag(D)``, symmetric positive semi-definite."""
        B = self.exposures.to_numpy()
        cov = B @ self.factor_cov.to_numpy() @ B.T
        cov = (cov + cov.T) / 2.0 + np.diag(self.specific_var.to_numpy())
        return pd.DataFrame(cov, index=self.tickers, columns=self.tickers)


def _assemble(
    as_of: pd.Timestamp,
    kind: str,
    B: pd.DataFrame,
    factor_values: np.ndarray,
    residuals: np.ndarray,
    *,
    params: RiskModelParams,
    missing: pd.DataFrame | None = None,
    excluded: tuple[str, ...] = (),
    live: np.ndarray | None = None,
) -> RiskModel:
    """F and D from a window's factor returns (T, K) and residuals (T, N); F is estimated
    on the ``live`` factors (default all) and is 0 in the rows and columns of the others."""
    if len(factor_values) < 2:
        raise ValueError(f"fewer than 2 sessions of factor returns on or before {as_of.date()}")
    live = np.ones(factor_values.shape[1], dtype=bool) if live is None else live
    F = np.zeros((len(live), len(live)))
    F[np.ix_(live, live)] = factor_covariance(factor_values[:, live], params)
    D, observed = specific_variance(residuals, params)
    if missing is None:
        missing = pd.DataFrame(False, index=B.index, columns=B.columns)
    return RiskModel(
        as_of=as_of,
        kind=kind,
        exposures=B,
        factor_cov=pd.DataFrame((F + F.T) / 2.0, index=B.columns, columns=B.columns),
        specific_var=pd.Series(D, index=B.index, name="specific_var"),
        sessions=len(factor_values),
        observed=pd.Series(observed, index=B.index, name="observed"),
        missing=missing,
        excluded=excluded,
    )


def compute_characteristic_model(
    exposures: Exposures,
    factor_returns: FactorReturns,
    as_of: pd.Timestamp,
    params: RiskModelParams | None = None,
) -> RiskModel:
    """The cross-sectional model as of ``as_of``: exposures of its latest date <= as_of,
    F and D from the factor and specific returns of the ``window`` dates ending there.

    Only dates with a return for every factor that has one in the window enter F and D
    (``sessions`` counts them), so a style's warm-up inside the window shortens it; a
    style with no return anywhere in the window (no name had it yet, or a volume panel of
    NaN) has zero variance and covariance in F, its exposures flagged in ``missing``.

    Parameters
    ----------
    exposures : Exposures
    factor_returns : FactorReturns
        ``compute_factor_returns`` of the same exposures (any later rows are ignored).
    as_of : Timestamp
    params : RiskModelParams, optional
    """
    params = params or RiskModelParams()
    row = exposures.position(as_of)
    rows = slice(max(0, row - params.window + 1), row + 1)
    factor_window = factor_returns.returns.iloc[rows].to_numpy()
    known = np.isfinite(factor_window)
    live = known.any(axis=0)  # factors with a return somewhere in the window
    complete = known[:, live].all(axis=1)
    B = exposures.at(exposures.dates[row])
    return _assemble(
        exposures.dates[row],
        "characteristics",
        B,
        np.where(known, factor_window, 0.0)[complete],
        factor_returns.residuals.iloc[rows].to_numpy()[complete],
        params=params,
        missing=pd.DataFrame(exposures.missing[row], index=B.index, columns=B.columns),
        live=live,
    )


def _history_window(
    returns: pd.DataFrame, dates: pd.Index, params: RiskModelParams
) -> tuple[np.ndarray, np.ndarray, pd.Index, tuple[str, ...]]:
    """The window's returns of the names with enough history (T, N'), their missing mask,
    their tickers, and the excluded tickers."""
    if len(dates) < 2:
        raise ValueError("fewer than 2 sessions of returns in the window")
    window = returns.reindex(dates).to_numpy(dtype=float)
    seen = np.isfinite(window)
    keep = seen.sum(axis=0) >= max(2, params.min_history * len(dates))
    excluded = tuple(str(t) for t in returns.columns[~keep])
    return window[:, keep], ~seen[:, keep], returns.columns[keep], excluded


def compute_time_series_model(
    returns: pd.DataFrame,
    factors: pd.DataFrame,
    as_of: pd.Timestamp,
    params: RiskModelParams | None = None,
) -> RiskModel:
    """Loadings of each name's returns on factor return series over the window to as_of.

    Parameters
    ----------
    returns : DataFrame of shape (D, N)
        Daily returns of the names by date; rows after ``as_of`` are ignored.
    factors : DataFrame of shape (D', K)
        Daily returns of the factors (e.g. MTUM, QUAL, SIZE, USMV, VLUE and the index) by
        date. The window is the last ``window`` dates <= as_of on which every factor has a
        return (and that ``returns`` has).
    as_of : Timestamp
    params : RiskModelParams, optional
    """
    params = params or RiskModelParams()
    as_of = pd.Timestamp(as_of)
    known = factors.loc[factors.index <= as_of].dropna()
    dates = known.index.intersection(returns.index)[-params.window :]
    R, gaps, tickers, excluded = _history_window(returns, dates, params)
    f = known.loc[dates].to_numpy(dtype=float)
    R = np.where(gaps, np.nanmean(R, axis=0), R)
    regression = LinearRegression().fit(f, R)
    B = regression.coef_
    residuals = R - f @ B.T - regression.intercept_
    return _assemble(
        dates[-1],
        "time_series",
        pd.DataFrame(B, index=tickers, columns=list(factors.columns)),
        f,
        np.where(gaps, np.nan, residuals),
        params=params,
        excluded=excluded,
    )


def compute_statistical_model(
    returns: pd.DataFrame,
    as_of: pd.Timestamp,
    n_components: int = 5,
    params: RiskModelParams | None = None,
) -> RiskModel:
    """``n_components`` principal components of the window's standardized returns.

    Parameters
    ----------
    returns : DataFrame of shape (D, N)
        Daily returns by date; the window is the last ``window`` dates <= as_of.
    as_of : Timestamp
    n_components : int
        K, at most the number of names kept.
    params : RiskModelParams, optional

    Notes
    -----
    Each name's returns ``r_i`` are centred and divided by their window standard
    deviation ``s_i`` (ddof 1), so PCA diagonalizes the window's correlation matrix.
    Factor j's return is the score ``z v_j``; B = diag(s) V (N x K) maps the scores back
    to returns and the residual is ``r - mean - scores B'``.
    """
    params = params or RiskModelParams()
    dates = returns.index[returns.index <= pd.Timestamp(as_of)][-params.window :]
    R, gaps, tickers, excluded = _history_window(returns, dates, params)
    centre = np.nanmean(R, axis=0)  # R is NaN where a return is missing
    scale = np.nanstd(R, axis=0, ddof=1)
    scale = np.where(scale > 0, scale, 1.0)
    z = np.where(gaps, 0.0, (R - centre) / scale)
    pca = PCA(n_components=n_components, svd_solver="full").fit(z)
    scores = z @ pca.components_.T
    B = scale[:, None] * pca.components_.T
    residuals = np.where(gaps, np.nan, R - centre - scores @ B.T)
    return _assemble(
        dates[-1],
        "statistical",
        pd.DataFrame(B, index=tickers, columns=[f"pc{j + 1}" for j in range(n_components)]),
        scores,
        residuals,
        params=params,
        excluded=excluded,
    )
