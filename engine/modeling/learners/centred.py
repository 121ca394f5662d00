"""The in-fold preprocessing of the learners that take no NaN (linear, MLP): a missing
value is imputed with its column's fit-slice mean, and each column is centred on that mean
and scaled by its fit-slice standard deviation. A model keeps only the means (``means_``)
and folds the scales into its first weights, so it reads the centred raw columns, where an
imputed value is 0: it moves nothing, and the reference row of every column at its mean
is the zero row."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.modeling.learners.pipeline import Learner


class CentredLearner(Learner):
    """A learner on centred raw columns (``means_``, set by ``_standardize``)."""

    def _standardize(self, Z: pd.DataFrame, fit_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The fit slice standardized (n_fit, k) and the scales (k,); sets ``means_``."""
        values = Z.iloc[fit_rows].to_numpy(dtype=float)
        known = np.isfinite(values)
        counts = known.sum(axis=0)
        totals = np.where(known, values, 0.0).sum(axis=0)
        self.means_ = np.divide(totals, counts, out=np.zeros(len(counts)), where=counts > 0)
        centred = np.where(known, values - self.means_, 0.0)
        scale = centred.std(axis=0)
        scale = np.where(scale > 0, scale, 1.0)
        return centred / scale, scale

    def _prepare(self, selected: pd.DataFrame) -> np.ndarray:
        values = selected.to_numpy(dtype=float)
        return np.where(np.isfinite(values), values - self.means_, 0.0)
