"""The linear learner: logistic regression (classifier, market timing) or ridge (ranker
and regressor, on the same target as the trees) from scikit-learn, on the selected
features (per-date normalized for the cross-sectional kinds).

In-fold preprocessing, fitted on the fit slice only (``centred``): a missing value is
imputed with its column's fit-slice mean, and each column is standardized by its
fit-slice mean and standard deviation. The model is kept as one weight per raw column
(the coefficient over the scale), so a row's score is ``intercept + sum_j weight_j *
(x_j - mean_j)`` and its terms ``weight_j * (x_j - mean_j)`` plus ``bias = intercept`` add
up to it exactly; an imputed value contributes nothing. Saved as ``linear.json``
(columns, weights, means, intercept), every value checked before use.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression, Ridge

from engine.modeling.learners.centred import CentredLearner
from engine.modeling.serialization import array, floats, number

LINEAR_FILE = "linear.json"
MAX_LINEAR_BYTES = 1 << 20  # a thousand columns take about 60 kB


class LinearLearner(CentredLearner):
    """The shared pipeline with a linear model: ``weights_`` (k,) per raw selected column,
    ``means_`` (k,) (the imputation values and centres) and ``intercept_``. The validation
    slice is not used (a linear model does not stop early)."""

    MODEL_FILE = LINEAR_FILE

    def _fit_model(
        self, Z: pd.DataFrame, target: np.ndarray, fit_rows: np.ndarray, val_rows: np.ndarray
    ) -> None:
        p = self._params
        x, scale = self._standardize(Z, fit_rows)
        if p.kind in ("classifier", "market_timing"):
            model = LogisticRegression(C=1.0 / p.l2_penalty, max_iter=1000)
            model.fit(x, target[fit_rows].astype(int))
            coef, intercept = model.coef_[0], float(model.intercept_[0])
        else:
            model = Ridge(alpha=p.l2_penalty).fit(x, target[fit_rows])
            coef, intercept = model.coef_, float(model.intercept_)
        self.weights_ = coef / scale
        self.intercept_ = intercept

    def _raw_score(self, prepared: np.ndarray) -> np.ndarray:
        return prepared @ self.weights_ + self.intercept_

    def _terms(self, prepared: np.ndarray) -> np.ndarray:
        bias = np.full((len(prepared), 1), self.intercept_)
        return np.hstack([prepared * self.weights_, bias])

    def model_bytes(self) -> bytes:
        body = {
            "columns": list(self.selector_.columns_),
            "weights": floats(self.weights_),
            "means": floats(self.means_),
            "intercept": self.intercept_,
        }
        return json.dumps(body, indent=1, sort_keys=True, allow_nan=False).encode()

    def load_model(self, data: bytes, columns: list[str], manifest: dict) -> None:
        body = self._read_document(data, columns, "linear model", MAX_LINEAR_BYTES)
        self.weights_ = array(body, "weights", "linear model", (len(columns),))
        self.intercept_ = number(body, "intercept", "linear model")
