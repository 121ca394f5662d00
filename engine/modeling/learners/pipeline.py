"""The learner contract and the pipeline every learner family shares.

``Learner`` follows scikit-learn's conventions (keyword parameters, ``clone``-able,
``fit(X, y, end_dates)`` returning self, fitted attributes ending in ``_``,
``predict_proba`` of shape (n, 2) with ``classes_ = [0, 1]``) and ranks with
``rank_score`` (``score`` is a metric in scikit-learn). Inside one training window (rows
sorted by date) it cuts three time-ordered slices: fit | early-stopping | calibration.
Each slice is purged against the next by label end date, so no label the model trains on
ends inside the slices that judge it, and the calibrator only ever sees rows the model did
not train on. The pipeline: per-date normalizer (cross-sectional kinds) -> feature
selector -> the family's model -> calibrator, all fitted in-fold.

A family (XGBoost, LightGBM, linear) supplies only: fitting on the slices
(``_fit_model``), a raw score and its additive terms from the selected features, and its
native model file (``MODEL_FILE``, ``model_bytes``, ``load_model``). The kinds
(``MODEL_KINDS``):

- ``classifier`` (the default): "beats the universe median" (relative labels), features
  normalized per date (``CrossSectionalNormalizer``, fitted in-fold);
- ``ranker``: one query per date, on the per-date quintile of the forward return;
- ``regressor``: squared error on the per-date rank-normalized forward return;
- ``market_timing``: absolute direction with raw features. Absolute direction is
  dominated by the market, so this model learns market timing and tends to give every
  stock the same probability (which is why it is not the default).

Every kind has a ranking score and a calibrated probability of its binary label
(P(beats the median), or P(up) for market timing): the score passed through a logistic
link, calibrated on held-out evidence and shrunk to the base rate when that evidence is
thin (``ProbabilityCalibrator``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from engine.features.registry import feature_columns
from engine.modeling.calibration import ProbabilityCalibrator
from engine.modeling.learners.params import LearnerParams, relevance
from engine.modeling.processors import CrossSectionalNormalizer
from engine.modeling.selection import REGIME_COLUMN, FeatureSelector, LogisticBaseline
from engine.modeling.sessions import label_sessions, time_slices


@dataclass(frozen=True)
class ExplainedPredictions:
    """A model's outputs for n rows: ``score`` (n,), calibrated ``probability`` (n,) and
    ``contributions`` (n, k + 1: the selected features plus ``bias``, summing to score)."""

    score: np.ndarray
    probability: np.ndarray
    contributions: pd.DataFrame


@lru_cache(maxsize=32)
def _columns_of(families: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(feature_columns(families))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _restricted(
    normalizer: CrossSectionalNormalizer, columns: list[str]
) -> CrossSectionalNormalizer:
    """The fitted ``normalizer`` over ``columns`` only. Each column is normalized on its own,
    so the values are the same; a forecast then normalizes the selected columns alone."""
    kept = [c for c in normalizer.columns_ if c in set(columns)]
    scales = dict(zip(normalizer.stock_columns_, normalizer.fallback_scale_, strict=True))
    stock = [c for c in kept if c in scales]
    params = {
        **normalizer.to_params(),
        "columns": kept,
        "stock_columns": stock,
        "fallback_scale": [float(scales[c]) for c in stock],
    }
    return CrossSectionalNormalizer.from_params(params)


class Learner(BaseEstimator):
    """(Normalizer ->) selector -> model -> calibrator, all fitted on one training window.

    ``fit(X, y, end_dates)``: ``X`` indexed by (ticker, date), rows in date order, with the
    feature columns of ``params.families``; ``y`` is the binary label (beats the median,
    or up for market timing); ``end_dates`` the label end dates (the purge between
    slices). ``X`` may carry ``ret`` and ``excess`` (forward returns, used only to record
    the mean outcome of each class for expected returns) and must carry ``target`` (the
    rank-normalized return) for the ranker and the regressor. Missing values stay NaN
    (each family handles them in-fold).
    """

    MODEL_FILE: ClassVar[str]  # the family's native model file in a bundle

    def __init__(self, params: LearnerParams | None = None) -> None:
        self.params = params

    @property
    def _params(self) -> LearnerParams:
        return self.params or LearnerParams()

    # --- what a family supplies -----------------------------------------------------
    def _fit_model(
        self, Z: pd.DataFrame, target: np.ndarray, fit_rows: np.ndarray, val_rows: np.ndarray
    ) -> None:
        """Fit the family's model on ``Z``'s ``fit_rows`` (early stopping on ``val_rows``)."""
        raise NotImplementedError

    def _prepare(self, selected: pd.DataFrame) -> Any:
        """The selected features (n, k) in the form the family predicts from."""
        raise NotImplementedError

    def _raw_score(self, prepared: Any) -> np.ndarray:
        """The model's raw score (margin), shape (n,)."""
        raise NotImplementedError

    def _terms(self, prepared: Any) -> np.ndarray:
        """Per-feature terms plus a bias, shape (n, k + 1), each row summing to its score."""
        raise NotImplementedError

    def _select(self, rows: pd.DataFrame, y: np.ndarray) -> FeatureSelector:
        """The feature selector fitted on the fit slice's ``rows`` and labels ``y``."""
        p = self._params
        return FeatureSelector(p.top_k, p.max_correlation, p.seed, p.n_jobs).fit(rows, y)

    def model_bytes(self) -> bytes:
        """The fitted model as its native file (``MODEL_FILE``)."""
        raise NotImplementedError

    def load_model(self, data: bytes, columns: list[str], manifest: dict) -> None:
        """Set the fitted model from ``data`` (its ``MODEL_FILE``) after checking it against
        the selector's ``columns`` and the manifest's ``model`` summary; ValueError saying
        what is wrong, before any native parser sees a file that fails the checks."""
        raise NotImplementedError

    def model_summary(self) -> dict:
        """What the manifest records of the fitted model (checked again on load)."""
        return {}

    @property
    def rounds_(self) -> int:
        """Boosting rounds the model predicts with (0 for a model without rounds)."""
        return 0

    # --- the shared pipeline ----------------------------------------------------------
    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        return X[[c for c in _columns_of(self._params.families) if c in X.columns]]

    def _model_target(self, X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        if self._params.kind in ("classifier", "market_timing"):
            return y.astype(float)
        if "target" not in X.columns:
            raise ValueError(f"the {self._params.kind} needs a 'target' column (relative labels)")
        target = X["target"].to_numpy(dtype=float)
        return relevance(target) if self._params.kind == "ranker" else target

    def fit(self, X: pd.DataFrame, y, end_dates) -> Learner:
        p = self._params
        column = "excess" if p.cross_sectional else "ret"
        outcome = X[column] if column in X.columns else None
        y = np.asarray(y, dtype=int)
        target = self._model_target(X, y)
        dates = X.index.get_level_values("date").to_numpy(dtype="datetime64[ns]")
        ends = np.asarray(end_dates, dtype="datetime64[ns]")
        fit_rows, val_rows, cal_rows = time_slices(
            dates, ends, (p.validation_fraction, p.calibration_fraction)
        )
        if min(len(fit_rows), len(val_rows), len(cal_rows)) < 50:
            raise ValueError(
                "training window too short for fit, early-stopping and calibration slices"
            )
        self.classes_ = np.array([0, 1])
        processed = self._features(X)
        normalizer = None
        if p.cross_sectional:
            normalizer = CrossSectionalNormalizer(p.normalization, p.clip)
            processed = normalizer.fit(processed.iloc[fit_rows]).transform(processed)
        self.selector_ = self._select(processed.iloc[fit_rows], y[fit_rows])
        self.normalizer_ = (
            None if normalizer is None else _restricted(normalizer, self.selector_.columns_)
        )
        Z = self.selector_.transform(processed)
        self._fit_model(Z, target, fit_rows, val_rows)
        self.baseline_ = LogisticBaseline().fit(Z.iloc[fit_rows], y[fit_rows])
        regimes = self._regimes(X)
        # the held-out evidence every calibration is fitted on (more can be added)
        self.calibration_evidence_ = (
            # raw_proba of those rows: Z is already normalized per date and selected
            _sigmoid(self._raw_score(self._prepare(Z.iloc[cal_rows]))),
            y[cal_rows],
            regimes[cal_rows],
            dates[cal_rows],
        )
        self.label_sessions_ = label_sessions(dates, ends)
        self.calibrator_ = self.fit_calibrator(p.calibration)
        if outcome is not None:
            fit_y, fit_ret = y[fit_rows], outcome.to_numpy(dtype=float)[fit_rows]
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

    def add_calibration_evidence(self, scores, y, regimes, dates) -> Learner:
        """Refit the calibrator on its own held-out slice plus more out-of-sample evidence
        (raw scores of earlier folds, say), all of it with outcomes known before the rows
        this model will predict: the caller guarantees that."""
        own = self.calibration_evidence_
        extra = (scores, y, regimes, dates)
        self.calibration_evidence_ = tuple(
            np.concatenate([np.asarray(a), np.asarray(b, dtype=np.asarray(a).dtype)])
            for a, b in zip(own, extra, strict=True)
        )
        self.calibrator_ = self.fit_calibrator(self._params.calibration)
        return self

    def fit_calibrator(self, method: str) -> ProbabilityCalibrator:
        """A calibrator of ``method`` fitted on this model's held-out evidence."""
        p = self._params
        scores, labels, regimes, dates = self.calibration_evidence_
        # relative labels have base rate 0.5 in every regime: per-regime curves add noise
        calibrator = ProbabilityCalibrator(
            method,
            per_regime=p.per_regime_calibration and not p.cross_sectional,
            prior_dates=p.calibration_prior_dates,
            block_dates=self.label_sessions_,
        )
        return calibrator.fit(scores, labels, regimes, dates=dates)

    @staticmethod
    def _regimes(X: pd.DataFrame) -> np.ndarray:
        if REGIME_COLUMN in X.columns:
            return X[REGIME_COLUMN].to_numpy(dtype=float)
        return np.full(len(X), np.nan)

    def processed_values(self, X: pd.DataFrame) -> pd.DataFrame:
        """The selected features as the model sees them (normalized per date when
        cross-sectional), shape (n, k): what its contributions are computed on."""
        columns = list(self.selector_.columns_)
        if self.normalizer_ is None:
            return X[columns]
        return self.normalizer_.transform(X[self.normalizer_.columns_])[columns]

    def rank_score(self, X: pd.DataFrame) -> np.ndarray:
        """The ranking score per row, shape (n,): the model's raw score (log-odds for the
        classifiers, the ranker's score, the regressor's predicted rank target). For the
        cross-sectional kinds it is comparable across the tickers of one date only."""
        return self._raw_score(self._prepare(self.processed_values(X)))

    def raw_proba(self, X: pd.DataFrame) -> np.ndarray:
        """The uncalibrated probability, shape (n,): the logistic of ``rank_score`` (the
        model's own probability for the classifiers; a monotone stand-in otherwise)."""
        return _sigmoid(self.rank_score(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated P(label = 0), P(label = 1) per row, shape (n, 2); the label is "beats
        the median" (market timing: up)."""
        p = self.calibrator_.predict_proba(self.raw_proba(X), self._regimes(X))
        return np.column_stack([1.0 - p, p])

    def baseline_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(label = 1) of the logistic regression on the same selected features, (n,)."""
        return self.baseline_.predict_proba(self.processed_values(X))[:, 1]

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to ``rank_score`` plus ``bias``, shape (n, k + 1);
        each row sums to its score."""
        return self._contributions(self._prepare(self.processed_values(X)), X.index)

    def _contributions(self, prepared: Any, index: pd.Index) -> pd.DataFrame:
        columns = [*self.selector_.columns_, "bias"]
        return pd.DataFrame(self._terms(prepared), index=index, columns=columns)

    def fold_predictions(self, X: pd.DataFrame) -> dict[str, np.ndarray]:
        """``score`` (``rank_score``), ``p_raw`` (``raw_proba``), ``p``
        (``predict_proba[:, 1]``) and ``p_baseline`` (``baseline_proba``) of the rows ``X``,
        each (n,), from one pass of the normalizer and selector: what a walk-forward fold
        records of its test rows, each value equal to the separate call's."""
        values = self.processed_values(X)
        score = self._raw_score(self._prepare(values))
        raw = _sigmoid(score)
        return {
            "score": score,
            "p": self.calibrator_.predict_proba(raw, self._regimes(X)),
            "p_raw": raw,
            "p_baseline": self.baseline_.predict_proba(values)[:, 1],
        }

    def explained_predictions(self, X: pd.DataFrame) -> ExplainedPredictions:
        """``rank_score``, ``predict_proba[:, 1]`` and ``contributions`` of the rows ``X``
        from one pass of the normalizer and selector (what a forecast needs, each value
        equal to the separate call's)."""
        prepared = self._prepare(self.processed_values(X))
        score = self._raw_score(prepared)
        return ExplainedPredictions(
            score=score,
            probability=self.calibrator_.predict_proba(_sigmoid(score), self._regimes(X)),
            contributions=self._contributions(prepared, X.index),
        )
