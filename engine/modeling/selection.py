"""The learner's in-fold components: feature selection and the logistic baseline.

Both are fitted on a training window's fit slice only (the learner's pipeline decides the slices)
and both round-trip through plain JSON parameters exactly.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.base import BaseEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from engine.modeling.serialization import (
    array,
    field,
    floats,
    logistic_from_params,
    logistic_params,
    number,
)

REGIME_COLUMN = "regime_id"


class FeatureSelector(BaseEstimator):
    """Drop one of every pair with |correlation| > ``max_correlation`` (keeping the more
    important), then keep the ``top_k`` most important. Importance is the gain of a small
    booster fitted on the same training rows. The regime id is always kept.
    """

    def __init__(
        self, top_k: int = 20, max_correlation: float = 0.85, seed: int = 0, n_jobs: int = 1
    ):
        self.top_k = top_k
        self.max_correlation = max_correlation
        self.seed = seed
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> FeatureSelector:
        ranked, gain = _ranking(X, np.asarray(y, dtype=float), self.seed, self.n_jobs)
        chosen = _decorrelated(X, ranked, self.top_k, self.max_correlation)
        if REGIME_COLUMN in X.columns and REGIME_COLUMN not in chosen:
            chosen.append(REGIME_COLUMN)
        self.columns_ = chosen
        self.importance_ = {c: float(gain.get(c, 0.0)) for c in chosen}
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        return X[self.columns_]

    def to_params(self) -> dict:
        """The fitted selection as plain JSON values (``from_params`` rebuilds it)."""
        return {
            **self.get_params(),
            "columns": list(self.columns_),
            "importance": [self.importance_[c] for c in self.columns_],
        }

    @classmethod
    def from_params(cls, params: dict, name: str = "selector") -> FeatureSelector:
        """The selector ``to_params`` described; ValueError naming a bad value."""
        selector = cls(
            top_k=field(params, "top_k", int, name),
            max_correlation=number(params, "max_correlation", name),
            seed=field(params, "seed", int, name),
            n_jobs=field(params, "n_jobs", int, name),
        )
        columns = field(params, "columns", list, name)
        if not columns or not all(isinstance(c, str) for c in columns):
            raise ValueError(f"{name}.columns must be a non-empty list of column names")
        if len(set(columns)) != len(columns):
            raise ValueError(f"{name}.columns names a column twice")
        importance = array(params, "importance", name, (len(columns),))
        selector.columns_ = columns
        selector.importance_ = dict(zip(columns, importance.tolist(), strict=True))
        return selector


# The zoo fits every learner on the same folds (one learner's folds after another's), and
# tuning every trial: each fold's ranking is the same for all of them, so the latest are
# kept (a few kB each), keyed by a digest of the rows. A pure function of its inputs: a hit
# returns exactly what a new fit would (the booster is seeded and deterministic).
_RANKINGS: OrderedDict[tuple, tuple[list[str], dict[str, float]]] = OrderedDict()
_RANKINGS_KEPT = 256
_RANKINGS_LOCK = threading.Lock()


def forget_rankings() -> None:
    """Drop every kept ranking: the next fit of each fold ranks its columns again (a
    benchmark that times learners one after another starts each from the same state)."""
    with _RANKINGS_LOCK:
        _RANKINGS.clear()


def _digest(values: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(values).tobytes(), digest_size=16).hexdigest()


def _ranking(
    X: pd.DataFrame, y: np.ndarray, seed: int, n_jobs: int
) -> tuple[list[str], dict[str, float]]:
    """The usable columns by the total gain of a small booster on (X, y), most important
    first, and their gains."""
    values = X.to_numpy(dtype=float)
    key = (tuple(X.columns), values.shape, _digest(values), _digest(y), seed, n_jobs)
    with _RANKINGS_LOCK:
        if key in _RANKINGS:
            _RANKINGS.move_to_end(key)
            return _RANKINGS[key]
    # two distinct values <=> the largest exceeds the smallest (NaN skipped)
    low, high = X.min(), X.max()
    usable = [c for c in X.columns if high[c] > low[c]]
    if not usable:
        raise ValueError("no feature has any variation in the training rows")
    quick = xgb.train(
        {
            "objective": "binary:logistic",
            "tree_method": "hist",
            "max_depth": 3,
            "learning_rate": 0.1,
            "nthread": n_jobs,
            "seed": seed,
        },
        xgb.DMatrix(X[usable], label=y),
        num_boost_round=40,
    )
    gain = quick.get_score(importance_type="total_gain")
    ranked = sorted(usable, key=lambda c: -gain.get(c, 0.0))
    found = (ranked, gain)
    with _RANKINGS_LOCK:
        _RANKINGS[key] = found
        while len(_RANKINGS) > _RANKINGS_KEPT:
            _RANKINGS.popitem(last=False)
    return found


def _decorrelated(
    X: pd.DataFrame, ranked: list[str], top_k: int, max_correlation: float
) -> list[str]:
    """Up to ``top_k`` of ``ranked`` in order, skipping a column whose |correlation| with
    one already chosen exceeds ``max_correlation``. Correlations are pairwise-complete, so
    those among the first columns are the same in a smaller matrix: the matrix grows from
    2 ``top_k`` columns only when the pass needs more (usually it does not)."""
    width = min(len(ranked), 2 * top_k)
    while True:
        corr = X[ranked[:width]].corr().abs().to_numpy()
        kept: list[int] = []  # positions in ranked
        for i in range(width):
            if not (corr[i, kept] > max_correlation).any():
                kept.append(i)
            if len(kept) == top_k:
                return [ranked[i] for i in kept]
        if width == len(ranked):
            return [ranked[i] for i in kept]
        width = min(len(ranked), 2 * width)


class LogisticBaseline(BaseEstimator):
    """The benchmark: median imputation -> standardization -> L2 logistic regression.

    Fitted with scikit-learn's pipeline; it predicts from the fitted values it keeps
    (``statistics_`` per column, ``mean_`` and ``scale_``, the regression), computed
    exactly as the pipeline computes them, so that a model rebuilt from those values
    predicts bit for bit what the fitted one does.
    """

    def __init__(self, C: float = 0.1, max_iter: int = 500) -> None:
        self.C = C
        self.max_iter = max_iter

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> LogisticBaseline:
        pipeline = make_pipeline(
            SimpleImputer(strategy="median", keep_empty_features=True),
            StandardScaler(),
            LogisticRegression(C=self.C, max_iter=self.max_iter),
        ).fit(X, y)
        imputer, scaler, regression = (step for _, step in pipeline.steps)
        self.columns_ = list(X.columns)
        self.statistics_ = imputer.statistics_.astype(float)
        self.mean_, self.scale_ = scaler.mean_.astype(float), scaler.scale_.astype(float)
        self.model_ = regression
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(down), P(up) per row, shape (n, 2); ``X`` holds ``columns_``."""
        values = X[self.columns_].to_numpy(dtype=float, copy=True)
        missing = np.isnan(values)
        values[missing] = np.broadcast_to(self.statistics_, values.shape)[missing]
        values -= self.mean_
        values /= self.scale_
        return self.model_.predict_proba(values)

    def to_params(self) -> dict:
        """The fitted values as plain JSON values (``from_params`` rebuilds it)."""
        return {
            **self.get_params(),
            "columns": list(self.columns_),
            "statistics": floats(self.statistics_),
            "mean": floats(self.mean_),
            "scale": floats(self.scale_),
            **logistic_params(self.model_),
        }

    @classmethod
    def from_params(cls, params: dict, name: str = "baseline") -> LogisticBaseline:
        """The baseline ``to_params`` described; ValueError naming a bad value."""
        baseline = cls(C=number(params, "C", name), max_iter=field(params, "max_iter", int, name))
        columns = field(params, "columns", list, name)
        if not columns or not all(isinstance(c, str) for c in columns):
            raise ValueError(f"{name}.columns must be a non-empty list of column names")
        shape = (len(columns),)
        baseline.columns_ = columns
        baseline.statistics_ = array(params, "statistics", name, shape)
        baseline.mean_ = array(params, "mean", name, shape)
        baseline.scale_ = array(params, "scale", name, shape)
        if np.any(baseline.scale_ == 0):
            raise ValueError(f"{name}.scale holds a zero")
        baseline.model_ = logistic_from_params(
            params, len(columns), name, C=baseline.C, max_iter=baseline.max_iter
        )
        return baseline
