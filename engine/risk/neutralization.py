"""Scores neutralized to the risk factors: the part of a score the exposures do not explain.

The neutralized score of a date is the residual of that date's cross-sectional regression
(ordinary least squares with an intercept) of the score on the exposures known on that
date, so a signal that is only a disguised factor bet (momentum, beta, a sector) keeps
little of its information coefficient, while a stock-specific signal keeps it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.risk.exposures import Exposures
from engine.risk.regression import cross_sectional_wls


def _residualize(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(D, N) residuals of ``y`` on ``X`` (D, N, K) plus an intercept, per date."""
    X = np.concatenate([np.ones((*y.shape, 1)), X], axis=-1)
    return cross_sectional_wls(X, y, min_names=X.shape[-1] + 1)[1]


def neutralize(scores: pd.Series, exposures: pd.DataFrame) -> pd.Series:
    """One date's scores minus their regression on the exposures (with an intercept).

    Parameters
    ----------
    scores : Series of shape (N,)
        Scores by ticker.
    exposures : DataFrame of shape (N', K)
        Exposures by ticker (e.g. ``Exposures.at(date)`` or ``RiskModel.exposures``).

    Returns
    -------
    Series of shape (N,)
        The residuals; NaN for a name without a score or an exposure, and everywhere when
        fewer than K + 2 names have both.
    """
    X = exposures.reindex(scores.index).to_numpy(dtype=float)
    y = scores.to_numpy(dtype=float)
    return pd.Series(_residualize(X[None], y[None])[0], index=scores.index, name=scores.name)


def neutralize_panel(scores: pd.Series, exposures: Exposures) -> pd.Series:
    """Scores of many dates, each neutralized on the exposures known on its date.

    Parameters
    ----------
    scores : Series of shape (n,)
        Indexed by a MultiIndex with levels ``date`` and ``ticker`` (either order).
    exposures : Exposures
        A score dated t uses the exposures of the latest exposure date <= t (data <= t).

    Returns
    -------
    Series of shape (n,)
        Aligned to ``scores``: the residual of each date's regression; NaN for a name
        without a score or exposures, and on a date before the first exposures.
    """
    dates = pd.DatetimeIndex(scores.index.get_level_values("date"))
    codes, unique = pd.factorize(dates)
    rows = exposures.dates.searchsorted(unique, side="right") - 1
    columns = exposures.tickers.get_indexer(scores.index.get_level_values("ticker"))
    known = (rows[codes] >= 0) & (columns >= 0)
    y = np.full((len(unique), len(exposures.tickers)), np.nan)
    y[codes[known], columns[known]] = scores.to_numpy(dtype=float)[known]
    residuals = _residualize(exposures.values[np.maximum(rows, 0)], y)
    out = np.full(len(scores), np.nan)
    out[known] = residuals[codes[known], columns[known]]
    return pd.Series(out, index=scores.index, name=scores.name)
