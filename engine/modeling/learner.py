"""The regime-aware XGBoost meta-learner, its in-fold feature selection, and a logistic baseline.

Inside one training window (rows sorted by date) the learner cuts three time-ordered
slices: fit | early-stopping | calibration. Each slice is purged against the next by label
end date, so no label that the booster trains on ends inside the slices that judge it,
and the calibrator only ever sees rows the booster did not train on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.base import BaseEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from engine.features.registry import FAMILY_NAMES, feature_columns
from engine.modeling.calibration import ProbabilityCalibrator
from engine.modeling.serialization import (
    array,
    field,
    floats,
    logistic_from_params,
    logistic_params,
    number,
)

REGIME_COLUMN = "regime_id"


@dataclass(frozen=True)
class LearnerParams:
    """Everything that shapes a fitted model (recorded in the run manifest)."""

    families: tuple[str, ...] = FAMILY_NAMES
    top_k: int = 20
    max_correlation: float = 0.85
    n_estimators: int = 600
    learning_rate: float = 0.03
    max_depth: int = 2  # one interaction per tree (a regime and a signal, say)
    min_child_weight: float = 100.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    early_stopping_rounds: int = 60
    validation_fraction: float = 0.15
    calibration_fraction: float = 0.2
    calibration: str = "platt"
    per_regime_calibration: bool = True
    device: str = "cpu"
    n_jobs: int = 2
    seed: int = 0

    def booster_params(self) -> dict:
        return {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "device": self.device,
            "learning_rate": self.learning_rate,
            "max_depth": self.max_depth,
            "min_child_weight": self.min_child_weight,
            "subsample": self.subsample,
            "colsample_bytree": self.colsample_bytree,
            "nthread": self.n_jobs,
            "seed": self.seed,
        }


def time_slices(
    dates: np.ndarray, ends: np.ndarray, fractions: tuple[float, ...]
) -> list[np.ndarray]:
    """Row positions of consecutive date slices: the first takes what the trailing ones,
    sized by ``fractions`` of the sessions, leave. Each slice but the last is purged of
    rows whose label ends on or after the next slice's first date.
    """
    sessions = np.unique(dates)
    sizes = [max(1, round(f * len(sessions))) for f in fractions]
    starts = [len(sessions) - sum(sizes[i:]) for i in range(len(sizes))]
    if starts[0] < 1:
        raise ValueError("too few dates to cut the training window into its slices")
    bounds = [sessions[0], *sessions[starts], sessions[-1] + np.timedelta64(1, "D")]
    slices = []
    for k, (lo, hi) in enumerate(pairwise(bounds)):
        rows = (dates >= lo) & (dates < hi)
        if k < len(bounds) - 2:
            rows &= ends < hi
        slices.append(np.flatnonzero(rows))
    return slices


class FeatureSelector(BaseEstimator):
    """Drop one of every pair with |correlation| > ``max_correlation`` (keeping the more
    important), then keep the ``top_k`` most important. Importance is the gain of a small
    booster fitted on the same training rows. The regime id is always kept.
    """

    def __init__(
        self, top_k: int = 20, max_correlation: float = 0.85, seed: int = 0, n_jobs: int = 2
    ):
        self.top_k = top_k
        self.max_correlation = max_correlation
        self.seed = seed
        self.n_jobs = n_jobs

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> FeatureSelector:
        usable = [c for c in X.columns if X[c].notna().any() and X[c].nunique(dropna=True) > 1]
        if not usable:
            raise ValueError("no feature has any variation in the training rows")
        quick = xgb.train(
            {
                "objective": "binary:logistic",
                "tree_method": "hist",
                "max_depth": 3,
                "learning_rate": 0.1,
                "nthread": self.n_jobs,
                "seed": self.seed,
            },
            xgb.DMatrix(X[usable], label=y),
            num_boost_round=40,
        )
        gain = quick.get_score(importance_type="total_gain")
        ranked = sorted(usable, key=lambda c: -gain.get(c, 0.0))
        corr = X[ranked].corr().abs()
        chosen: list[str] = []
        for column in ranked:
            if all(not corr.at[column, kept] > self.max_correlation for kept in chosen):
                chosen.append(column)
            if len(chosen) == self.top_k:
                break
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


@lru_cache(maxsize=32)
def _columns_of(families: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(feature_columns(families))


class MetaLearner(BaseEstimator):
    """Selector -> XGBoost (early stopped) -> calibrator, all fitted on one training window.

    ``fit(X, y, end_dates)``: ``X`` indexed by (ticker, date) with the feature columns of
    ``params.families``; missing values stay NaN (XGBoost routes them natively).
    """

    def __init__(self, params: LearnerParams | None = None) -> None:
        self.params = params

    @property
    def _params(self) -> LearnerParams:
        return self.params or LearnerParams()

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        return X[[c for c in _columns_of(self._params.families) if c in X.columns]]

    def fit(self, X: pd.DataFrame, y, end_dates) -> MetaLearner:
        """Fit on one training window; ``X`` may carry ``ret`` (forward returns), used
        only to record the mean return of up and down outcomes for expected returns."""
        p = self._params
        returns = X["ret"].to_numpy(dtype=float) if "ret" in X.columns else None
        X = self._features(X)
        y = np.asarray(y, dtype=int)
        dates = X.index.get_level_values("date").to_numpy(dtype="datetime64[ns]")
        ends = np.asarray(end_dates, dtype="datetime64[ns]")
        fit_rows, val_rows, cal_rows = time_slices(
            dates, ends, (p.validation_fraction, p.calibration_fraction)
        )
        if min(len(fit_rows), len(val_rows), len(cal_rows)) < 50:
            raise ValueError(
                "training window too short for fit, early-stopping and calibration slices"
            )
        self.selector_ = FeatureSelector(p.top_k, p.max_correlation, p.seed, p.n_jobs)
        self.selector_.fit(X.iloc[fit_rows], y[fit_rows])
        Z = self.selector_.transform(X)
        self.booster_ = xgb.train(
            p.booster_params(),
            xgb.DMatrix(Z.iloc[fit_rows], label=y[fit_rows]),
            num_boost_round=p.n_estimators,
            evals=[(xgb.DMatrix(Z.iloc[val_rows], label=y[val_rows]), "validation")],
            early_stopping_rounds=p.early_stopping_rounds,
            verbose_eval=False,
        )
        self.baseline_ = LogisticBaseline().fit(Z.iloc[fit_rows], y[fit_rows])
        regimes = self._regimes(X)
        # kept so other calibration methods can be compared on the same held-out slice
        self.calibration_slice_ = (self.raw_proba(X.iloc[cal_rows]), y[cal_rows], regimes[cal_rows])
        self.calibrator_ = self.fit_calibrator(p.calibration)
        if returns is not None:
            fit_y, fit_ret = y[fit_rows], returns[fit_rows]
            self.outcome_returns_ = (
                float(np.nanmean(fit_ret[fit_y == 1])),
                float(np.nanmean(fit_ret[fit_y == 0])),
            )
        else:
            self.outcome_returns_ = (np.nan, np.nan)
        self.slices_ = {
            "fit": len(fit_rows),
            "validation": len(val_rows),
            "calibration": len(cal_rows),
        }
        self.last_fit_date_ = dates[fit_rows].max()
        self.last_train_date_ = dates.max()
        return self

    def fit_calibrator(self, method: str) -> ProbabilityCalibrator:
        """A calibrator of ``method`` fitted on this model's held-out calibration slice."""
        scores, labels, regimes = self.calibration_slice_
        calibrator = ProbabilityCalibrator(method, per_regime=self._params.per_regime_calibration)
        return calibrator.fit(scores, labels, regimes)

    @staticmethod
    def _regimes(X: pd.DataFrame) -> np.ndarray:
        if REGIME_COLUMN in X.columns:
            return X[REGIME_COLUMN].to_numpy(dtype=float)
        return np.full(len(X), np.nan)

    def _matrix(self, X: pd.DataFrame) -> xgb.DMatrix:
        # the selected columns as float32, which is what XGBoost stores anyway
        columns = list(self.selector_.columns_)
        return xgb.DMatrix(X[columns].to_numpy(dtype=np.float32), feature_names=columns)

    def _rounds(self) -> tuple[int, int]:
        return (0, self.booster_.best_iteration + 1)

    def raw_proba(self, X: pd.DataFrame) -> np.ndarray:
        """The booster's uncalibrated P(up)."""
        return self.booster_.predict(self._matrix(X), iteration_range=self._rounds())

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated P(up), shape (n,)."""
        return self.calibrator_.predict_proba(self.raw_proba(X), self._regimes(self._features(X)))

    def baseline_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(up) of the logistic regression on the same selected features."""
        return self.baseline_.predict_proba(self.selector_.transform(self._features(X)))[:, 1]

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature log-odds contributions (XGBoost's exact TreeSHAP) plus ``bias``."""
        values = self.booster_.predict(
            self._matrix(X), pred_contribs=True, iteration_range=self._rounds()
        )
        return pd.DataFrame(values, index=X.index, columns=[*self.selector_.columns_, "bias"])
