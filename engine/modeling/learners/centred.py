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
from engine.modeling.serialization import array, field, finite_json_document


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

    def _read_document(self, data: bytes, columns: list[str], name: str, max_bytes: int) -> dict:
        """The model file's JSON object after the checks every centred model shares: at
        most ``max_bytes``, UTF-8 JSON with finite numbers only, the selector's columns in
        order; sets ``means_`` from it. ValueError saying what is wrong."""
        if len(data) > max_bytes:
            raise ValueError(f"is larger than {max_bytes // 1024:,} kB")
        try:
            body = finite_json_document(data)
        except UnicodeDecodeError as exc:
            raise ValueError(f"is not UTF-8 JSON: {exc.reason}") from None
        if field(body, "columns", list, name) != list(columns):
            raise ValueError("names columns that are not the selector's")
        self.means_ = array(body, "means", name, (len(columns),))
        return body
