"""Realized factor returns of a characteristics model: one cross-sectional WLS per date.

The factor return of date d is the regression of the names' returns over (d - 1, d] on
the exposures known at the close of d - 1, so it uses data dated <= d only, and a risk
model as of t can take every factor return dated <= t. The history is computed once per
panel; each as-of model slices it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.risk.exposures import Exposures
from engine.risk.regression import cross_sectional_wls


@dataclass(frozen=True)
class FactorReturns:
    """Factor and specific returns of every date.

    Attributes
    ----------
    returns : DataFrame of shape (D, K)
        Factor returns by date; NaN on the first date, on dates with too few names, and
        for a style no name had an exposure to the day before (its warm-up: a year of
        prices for momentum and beta), rather than the regression's 0.
    residuals : DataFrame of shape (D, N)
        Specific returns ``r - B_{d-1} f_d``; NaN where a name was not in the regression.
    names : Series of shape (D,)
        Names in each date's regression.
    """

    returns: pd.DataFrame
    residuals: pd.DataFrame
    names: pd.Series


def compute_factor_returns(
    exposures: Exposures,
    returns: pd.DataFrame,
    *,
    weights: pd.DataFrame | None = None,
    min_names: int | None = None,
) -> FactorReturns:
    """Per-date WLS of each date's returns on the previous date's exposures.

    Parameters
    ----------
    exposures : Exposures
        From ``compute_exposures``; its dates are the grid.
    returns : DataFrame of shape (D, N)
        Simple daily returns dated at the end of their interval, reindexed to the
        exposures' dates and tickers; NaN where unknown (that name sits the date out).
    weights : DataFrame of shape (D, N), optional
        Regression weights known at each date's close, used for the next date's
        regression (e.g. the square root of a capitalization proxy; default equal).
    min_names : int, optional
        Fewest names a date's regression needs (default K + 1).

    Returns
    -------
    FactorReturns
        The factor return of date d uses exposures and weights of d - 1 and returns of d.
    """
    grid = {"index": exposures.dates, "columns": exposures.tickers}
    r = returns.reindex(**grid).to_numpy(dtype=float)
    k = len(exposures.factors)
    shape = (len(exposures.dates), k)
    coef = np.full(shape, np.nan)
    residuals = np.full(r.shape, np.nan)
    if len(r) > 1:
        w = None if weights is None else weights.reindex(**grid).to_numpy(dtype=float)[:-1]
        coef[1:], residuals[1:] = cross_sectional_wls(
            exposures.values[:-1], r[1:], w, min_names=min_names or k + 1
        )
        coef[1:][exposures.missing[:-1].all(axis=1)] = np.nan
    return FactorReturns(
        returns=pd.DataFrame(coef, index=exposures.dates, columns=list(exposures.factors)),
        residuals=pd.DataFrame(residuals, **grid),
        names=pd.Series(np.isfinite(residuals).sum(axis=1), index=exposures.dates, name="names"),
    )
