"""Per-date cross-sectional weighted least squares, batched over dates.

One solver for every cross-sectional regression of the risk package: factor returns
(returns of date d on the exposures known at d - 1), neutralization (a score on the
exposures of its date) and the orthogonalization of one descriptor against another. Each
date is its own regression over the names it has; nothing mixes dates.
"""

from __future__ import annotations

import numpy as np


def cross_sectional_wls(
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None = None,
    *,
    min_names: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least squares of ``y`` on ``X`` within each date, all dates at once.

    Parameters
    ----------
    X : ndarray of shape (D, N, K)
        Regressors of N names on D dates (include a column of ones for an intercept).
        A name with any non-finite regressor is left out of its date.
    y : ndarray of shape (D, N)
        The regressand; a name with a non-finite value is left out of its date.
    weights : ndarray of shape (D, N), optional
        Non-negative regression weights (default: equal). A name with a non-finite or
        zero weight is left out of its date.
    min_names : int
        Fewest names a date needs; a date with fewer has NaN coefficients and residuals.

    Returns
    -------
    coef : ndarray of shape (D, K)
        ``argmin_b sum_i w_i (y_i - X_i b)^2``; where the regressors are collinear on a
        date (a sector with no names, an intercept spanned by the sector dummies) the
        minimum-norm solution, ``pinv(X' W X) X' W y``, whose fitted values are unique.
    residuals : ndarray of shape (D, N)
        ``y - X coef`` for the names used; NaN for the names left out.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    w = np.ones(y.shape) if weights is None else np.asarray(weights, dtype=float)
    used = np.isfinite(y) & np.isfinite(X).all(axis=-1) & np.isfinite(w) & (w > 0)
    w = np.where(used, w, 0.0)
    X0 = np.where(used[..., None], X, 0.0)
    y0 = np.where(used, y, 0.0)
    weighted = X0 * w[..., None]
    gram = weighted.transpose(0, 2, 1) @ X0
    moment = (weighted.transpose(0, 2, 1) @ y0[..., None])[..., 0]
    coef = (np.linalg.pinv(gram, hermitian=True) @ moment[..., None])[..., 0]
    enough = used.sum(axis=1) >= min_names
    coef[~enough] = np.nan
    residuals = np.where(used & enough[:, None], y0 - (X0 @ coef[..., None])[..., 0], np.nan)
    return coef, residuals
