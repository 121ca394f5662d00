"""The XGBoost meta-learner: cross-sectional (classifier, ranker, regressor) or market timing.

Inside one training window (rows sorted by date) the learner cuts three time-ordered
slices: fit | early-stopping | calibration. Each slice is purged against the next by label
end date, so no label that the booster trains on ends inside the slices that judge it,
and the calibrator only ever sees rows the booster did not train on.

The kinds (``MODEL_KINDS``):

- ``classifier`` (the default): binary XGBoost on "beats the universe median" (relative
  labels), features normalized per date (``CrossSectionalNormalizer``, fitted in-fold);
- ``ranker``: XGBoost's pairwise ranker with one query per date, on the per-date quintile
  of the forward return;
- ``regressor``: squared error on the per-date rank-normalized forward return;
- ``market_timing``: binary XGBoost on absolute direction with raw features. Absolute
  direction is dominated by the market, so this model learns market timing and tends to
  give every stock the same probability (which is why it is not the default).

Every kind has a ranking ``score`` (the booster's margin) and a calibrated probability of
its binary label (P(beats the median), or P(up) for market timing): the score passed
through a logistic link, calibrated on held-out evidence and shrunk to the base rate when
that evidence is thin (``ProbabilityCalibrator``).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.base import BaseEstimator

from engine.features.registry import FAMILY_NAMES, feature_columns
from engine.modeling.calibration import CALIBRATION_METHODS, ProbabilityCalibrator
from engine.modeling.param_limits import Limit, check_limits
from engine.modeling.processors import NORMALIZATIONS, CrossSectionalNormalizer
from engine.modeling.selection import REGIME_COLUMN, FeatureSelector, LogisticBaseline
from engine.modeling.sessions import label_sessions, time_slices

MODEL_KINDS = ("classifier", "ranker", "regressor", "market_timing")
DEVICES = ("cpu", "cuda")  # cuda: XGBoost's first GPU (models/train.py --device)
# generous but finite: a crafted manifest's n_jobs=1e6 or n_estimators=1e9 is refused
LEARNER_LIMITS = {
    "clip": Limit(0, 100, open_low=True),
    "top_k": Limit(1, 1000, whole=True),
    "max_correlation": Limit(0, 1, open_low=True),
    "n_estimators": Limit(1, 20_000, whole=True),
    "learning_rate": Limit(0, 1, open_low=True),
    "max_depth": Limit(1, 20, whole=True),
    "min_child_weight": Limit(0, 1e6),
    "subsample": Limit(0, 1, open_low=True),
    "colsample_bytree": Limit(0, 1, open_low=True),
    "early_stopping_rounds": Limit(1, 20_000, whole=True),
    "min_rounds": Limit(0, 20_000, whole=True),
    "validation_fraction": Limit(0, 0.5, open_low=True),
    "calibration_fraction": Limit(0, 0.5, open_low=True),
    "calibration_prior_dates": Limit(0, 1e6),
    "n_jobs": Limit(1, 256, whole=True),
    "seed": Limit(0, 2**32 - 1, whole=True),
}
KIND_NAMES = {
    "classifier": "Cross-sectional classifier (beats the median)",
    "ranker": "Cross-sectional ranker (per-date pairwise)",
    "regressor": "Cross-sectional regressor (rank-normalized return)",
    "market_timing": "Market timing (absolute direction)",
}


def probability_label(kind: str) -> str:
    """What a run's forecast probability is of: "P(up)" for market timing, "P(beats
    median)" for the cross-sectional kinds. The one wording pages and reports use."""
    return "P(up)" if kind == "market_timing" else "P(beats median)"


RELEVANCE_LEVELS = 5  # the ranker's relevance grades: per-date quintiles of the return
_LOGISTIC = {"objective": "binary:logistic", "eval_metric": "logloss"}
_OBJECTIVES = {
    "classifier": _LOGISTIC,
    "market_timing": _LOGISTIC,
    # pairs drawn across the whole day ("mean"; XGBoost's default "topk" pairs only the
    # top of each list) and stopped on the share of pairs in order (AUC over each date):
    # the whole ranking is what rank IC judges. On the planted panel of the tests the
    # ranker's rank IC rose from 0.021 to 0.012 below the oracle.
    "ranker": {
        "objective": "rank:pairwise",
        "eval_metric": "auc",
        "lambdarank_pair_method": "mean",
    },
    "regressor": {"objective": "reg:squarederror", "eval_metric": "rmse"},
}


@dataclass(frozen=True)
class LearnerParams:
    """Everything that shapes a fitted model (recorded in the run manifest).

    ``kind`` is one of ``MODEL_KINDS``; the cross-sectional kinds need relative labels
    (``LabelParams(kind="relative")``), market timing absolute ones. ``normalization``
    is the per-date processor of the cross-sectional kinds. ``calibration_prior_dates``
    is the shrinkage of the calibrator toward the base rate: evidence from ``n`` dates
    gets weight ``n / (n + calibration_prior_dates)`` on its fitted curve. ``min_rounds``:
    the booster predicts with at least this many rounds (at most the rounds it trained)
    even when early stopping found its best earlier: a stop at round 1 leaves two or three
    distinct scores for a whole fold, which cannot rank a universe. Whether the rounds add
    skill is what the out-of-sample evaluation judges; they never see a test row.
    """

    families: tuple[str, ...] = FAMILY_NAMES
    kind: str = "classifier"
    normalization: str = "robust_zscore"
    clip: float = 3.0
    top_k: int = 20
    max_correlation: float = 0.85
    n_estimators: int = 600
    learning_rate: float = 0.03
    max_depth: int = 2  # one interaction per tree (a regime and a signal, say)
    min_child_weight: float = 100.0
    subsample: float = 0.8
    colsample_bytree: float = 0.8
    early_stopping_rounds: int = 60
    min_rounds: int = 60
    validation_fraction: float = 0.15
    calibration_fraction: float = 0.2
    calibration: str = "platt"
    per_regime_calibration: bool = True
    calibration_prior_dates: float = 60.0
    device: str = "cpu"
    # one thread: on the sample's folds (about 7,000 rows) two threads on two cores were
    # 3-5x slower whenever anything else ran (OpenMP threads spin against each other)
    n_jobs: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"model kind must be one of {MODEL_KINDS}, got {self.kind!r}")
        if self.normalization not in NORMALIZATIONS:
            raise ValueError(f"normalization must be one of {NORMALIZATIONS}")
        if self.calibration not in CALIBRATION_METHODS:
            raise ValueError(f"calibration must be one of {CALIBRATION_METHODS}")
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES} (got {self.device!r:.40})")
        if not isinstance(self.per_regime_calibration, bool):
            raise ValueError("per_regime_calibration must be true or false")
        unknown = [f for f in self.families if f not in FAMILY_NAMES]
        if not self.families or unknown:
            raise ValueError(f"families must be some of {', '.join(FAMILY_NAMES)}")
        check_limits(self, LEARNER_LIMITS, "learner settings")

    @property
    def cross_sectional(self) -> bool:
        return self.kind != "market_timing"

    def booster_params(self) -> dict:
        return {
            **_OBJECTIVES[self.kind],
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


@dataclass(frozen=True)
class ExplainedPredictions:
    """A model's outputs for n rows: ``score`` (n,), calibrated ``probability`` (n,) and
    ``contributions`` (n, k + 1: the selected features plus ``bias``, summing to score)."""

    score: np.ndarray
    probability: np.ndarray
    contributions: pd.DataFrame


def available_device(requested: str) -> tuple[str, str | None]:
    """The device XGBoost can train on when ``requested`` is asked for, and why it differs
    when it does (XGBoost itself would fall back to the CPU with only a warning)."""
    if requested != "cuda":
        return requested, None
    if not xgb.build_info().get("USE_CUDA"):
        return "cpu", "this XGBoost build has no CUDA support"
    if shutil.which("nvidia-smi") is None:
        return "cpu", "no NVIDIA GPU is visible (nvidia-smi not found)"
    return "cuda", None


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


def relevance(target: np.ndarray) -> np.ndarray:
    """The ranker's grades 0 .. RELEVANCE_LEVELS - 1 from a rank target in (-0.5, 0.5)."""
    grades = np.floor((np.asarray(target, dtype=float) + 0.5) * RELEVANCE_LEVELS)
    return np.clip(grades, 0, RELEVANCE_LEVELS - 1)


class MetaLearner(BaseEstimator):
    """(Normalizer ->) selector -> XGBoost (early stopped) -> calibrator, all fitted on one
    training window.

    ``fit(X, y, end_dates)``: ``X`` indexed by (ticker, date), rows in date order, with the
    feature columns of ``params.families``; ``y`` is the binary label (beats the median,
    or up for market timing). ``X`` may carry ``ret`` and ``excess`` (forward returns, used
    only to record the mean outcome of each class for expected returns) and must carry
    ``target`` (the rank-normalized return) for the ranker and the regressor. Missing
    values stay NaN (XGBoost routes them natively).
    """

    def __init__(self, params: LearnerParams | None = None) -> None:
        self.params = params

    @property
    def _params(self) -> LearnerParams:
        return self.params or LearnerParams()

    def _features(self, X: pd.DataFrame) -> pd.DataFrame:
        return X[[c for c in _columns_of(self._params.families) if c in X.columns]]

    def _booster_target(self, X: pd.DataFrame, y: np.ndarray) -> np.ndarray:
        if self._params.kind in ("classifier", "market_timing"):
            return y.astype(float)
        if "target" not in X.columns:
            raise ValueError(f"the {self._params.kind} needs a 'target' column (relative labels)")
        target = X["target"].to_numpy(dtype=float)
        return relevance(target) if self._params.kind == "ranker" else target

    def _matrix_for(self, Z: pd.DataFrame, rows: np.ndarray, target: np.ndarray) -> xgb.DMatrix:
        """A training DMatrix; the ranker's rows are grouped by date (one query each)."""
        part = Z.iloc[rows]
        if self._params.kind != "ranker":
            return xgb.DMatrix(part, label=target[rows])
        codes = pd.factorize(part.index.get_level_values("date"), sort=True)[0]
        return xgb.DMatrix(part, label=target[rows], qid=codes)

    def fit(self, X: pd.DataFrame, y, end_dates) -> MetaLearner:
        p = self._params
        column = "excess" if p.cross_sectional else "ret"
        outcome = X[column] if column in X.columns else None
        y = np.asarray(y, dtype=int)
        target = self._booster_target(X, y)
        dates = X.index.get_level_values("date").to_numpy(dtype="datetime64[ns]")
        ends = np.asarray(end_dates, dtype="datetime64[ns]")
        fit_rows, val_rows, cal_rows = time_slices(
            dates, ends, (p.validation_fraction, p.calibration_fraction)
        )
        if min(len(fit_rows), len(val_rows), len(cal_rows)) < 50:
            raise ValueError(
                "training window too short for fit, early-stopping and calibration slices"
            )
        processed = self._features(X)
        normalizer = None
        if p.cross_sectional:
            normalizer = CrossSectionalNormalizer(p.normalization, p.clip)
            processed = normalizer.fit(processed.iloc[fit_rows]).transform(processed)
        self.selector_ = FeatureSelector(p.top_k, p.max_correlation, p.seed, p.n_jobs)
        self.selector_.fit(processed.iloc[fit_rows], y[fit_rows])
        self.normalizer_ = (
            None if normalizer is None else _restricted(normalizer, self.selector_.columns_)
        )
        Z = self.selector_.transform(processed)
        self.booster_ = xgb.train(
            p.booster_params(),
            self._matrix_for(Z, fit_rows, target),
            num_boost_round=p.n_estimators,
            evals=[(self._matrix_for(Z, val_rows, target), "validation")],
            early_stopping_rounds=p.early_stopping_rounds,
            verbose_eval=False,
        )
        self.baseline_ = LogisticBaseline().fit(Z.iloc[fit_rows], y[fit_rows])
        regimes = self._regimes(X)
        cal = X.iloc[cal_rows]
        # the held-out evidence every calibration is fitted on (more can be added)
        self.calibration_evidence_ = (
            self.raw_proba(cal),
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

    def add_calibration_evidence(self, scores, y, regimes, dates) -> MetaLearner:
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

    def _selected(self, X: pd.DataFrame) -> pd.DataFrame:
        """The selected features as the booster sees them (normalized per date when
        cross-sectional), shape (n, k)."""
        columns = list(self.selector_.columns_)
        if self.normalizer_ is None:
            return X[columns]
        return self.normalizer_.transform(X[self.normalizer_.columns_])[columns]

    @staticmethod
    def _matrix(selected: pd.DataFrame) -> xgb.DMatrix:
        # float32 is what XGBoost stores anyway
        values = selected.to_numpy(dtype=np.float32)
        return xgb.DMatrix(values, feature_names=list(selected.columns))

    def _rounds(self) -> tuple[int, int]:
        trained = self.booster_.num_boosted_rounds()
        return (0, max(self.booster_.best_iteration + 1, min(self._params.min_rounds, trained)))

    @property
    def rounds_(self) -> int:
        """Boosting rounds the model predicts with."""
        return self._rounds()[1]

    def _margin(self, matrix: xgb.DMatrix) -> np.ndarray:
        return self.booster_.predict(matrix, output_margin=True, iteration_range=self._rounds())

    def _contributions(self, matrix: xgb.DMatrix, index: pd.Index) -> pd.DataFrame:
        values = self.booster_.predict(matrix, pred_contribs=True, iteration_range=self._rounds())
        return pd.DataFrame(values, index=index, columns=[*self.selector_.columns_, "bias"])

    def score(self, X: pd.DataFrame) -> np.ndarray:
        """The ranking score per row, shape (n,): the booster's margin (log-odds for the
        classifiers, the ranker's score, the regressor's predicted rank target). For the
        cross-sectional kinds it is comparable across the tickers of one date only."""
        return self._margin(self._matrix(self._selected(X)))

    def raw_proba(self, X: pd.DataFrame) -> np.ndarray:
        """The uncalibrated probability: the logistic of ``score`` (the booster's own
        probability for the classifiers; a monotone stand-in for the ranker and regressor)."""
        return _sigmoid(self.score(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Calibrated P(beats the median) (market timing: P(up)), shape (n,)."""
        return self.calibrator_.predict_proba(self.raw_proba(X), self._regimes(X))

    def baseline_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(label) of the logistic regression on the same selected features."""
        return self.baseline_.predict_proba(self._selected(X))[:, 1]

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Per-feature contributions to ``score`` (XGBoost's exact TreeSHAP) plus ``bias``;
        each row sums to its score."""
        return self._contributions(self._matrix(self._selected(X)), X.index)

    def explained_predictions(self, X: pd.DataFrame) -> ExplainedPredictions:
        """``score``, ``predict_proba`` and ``contributions`` of the rows ``X`` from one
        pass of the normalizer and selector (what a forecast needs, each value equal to the
        separate call's)."""
        matrix = self._matrix(self._selected(X))
        score = self._margin(matrix)
        return ExplainedPredictions(
            score=score,
            probability=self.calibrator_.predict_proba(_sigmoid(score), self._regimes(X)),
            contributions=self._contributions(matrix, X.index),
        )

    def processed_values(self, X: pd.DataFrame) -> pd.DataFrame:
        """The selected features as the booster saw them (per-date normalized values for
        the cross-sectional kinds): what its contributions are computed on."""
        return self._selected(X)
