"""Probability calibration (Platt, isotonic, beta), per regime with shrinkage.

A calibrator is fitted on a held-out slice that comes after the model's training rows,
never on training rows (the learner enforces that). Its scores (ECE, Brier, reliability)
are ``engine.modeling.calibration_scores``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from engine.modeling.serialization import (
    array,
    field,
    floats,
    logistic_from_params,
    logistic_params,
    number,
)

CALIBRATION_METHODS = ("platt", "isotonic", "beta")
EPS = 1e-6
# Unpenalized logistic fits of the curves. A tight tolerance: with scores that carry almost
# no information the gradient at slope 0 is below scikit-learn's default tolerance (1e-4)
# and lbfgs stops there, giving every row the same probability instead of the fitted one.
# Newton-Cholesky: one or two features over many rows converge in a few Newton steps (about
# 3x faster than lbfgs at the same optimum).
CURVE = {"C": 1e6, "tol": 1e-10, "max_iter": 1000, "solver": "newton-cholesky"}
# A calibration curve earns weight only beyond this many times its degrees of freedom in
# likelihood-ratio evidence. With 1 (plain James-Stein) the sample's cross-sectional model,
# which has no skill, kept calibrated Brier 0.00012 above climatology beyond its interval.
EVIDENCE_BAR = 4.0


def clip_probability(p: np.ndarray) -> np.ndarray:
    """Probabilities kept inside [EPS, 1 - EPS] (logits and log-losses stay finite)."""
    return np.clip(np.asarray(p, dtype=float), EPS, 1.0 - EPS)


def logit(p: np.ndarray) -> np.ndarray:
    p = clip_probability(p)
    return np.log(p / (1.0 - p))


def fit_curve(x: np.ndarray, y: np.ndarray) -> LogisticRegression:
    """An unpenalized logistic curve (``CURVE``) of ``y`` on the columns of ``x``."""
    with warnings.catch_warnings():
        # at an optimum already met to float precision the Newton line search cannot
        # improve and scikit-learn finishes with lbfgs: the fit is right, the warning noise
        warnings.filterwarnings("ignore", "Line search of Newton solver", ConvergenceWarning)
        return LogisticRegression(**CURVE).fit(x, y)


class _Platt:
    def fit(self, s: np.ndarray, y: np.ndarray) -> _Platt:
        self.model = fit_curve(logit(s)[:, None], y)
        return self

    def predict(self, s: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(logit(s)[:, None])[:, 1]

    def to_params(self) -> dict:
        return logistic_params(self.model)

    @classmethod
    def from_params(cls, params: dict, name: str) -> _Platt:
        curve = cls()
        curve.model = logistic_from_params(params, 1, name, **CURVE)
        return curve


class _Isotonic:
    """Isotonic regression, evaluated as linear interpolation between its thresholds
    (scores outside them are clipped to the end values)."""

    def fit(self, s: np.ndarray, y: np.ndarray) -> _Isotonic:
        model = IsotonicRegression(y_min=EPS, y_max=1 - EPS, out_of_bounds="clip").fit(s, y)
        self.x, self.y = model.X_thresholds_.astype(float), model.y_thresholds_.astype(float)
        return self

    def predict(self, s: np.ndarray) -> np.ndarray:
        s = np.clip(np.asarray(s, dtype=float), self.x[0], self.x[-1])
        return np.interp(s, self.x, self.y)

    def to_params(self) -> dict:
        return {"x": floats(self.x), "y": floats(self.y)}

    @classmethod
    def from_params(cls, params: dict, name: str) -> _Isotonic:
        curve = cls()
        curve.x, curve.y = array(params, "x", name, (None,)), array(params, "y", name, (None,))
        if len(curve.x) != len(curve.y):
            raise ValueError(f"{name}.x and {name}.y differ in length")
        if np.any(np.diff(curve.x) <= 0) or np.any(np.diff(curve.y) < 0):
            raise ValueError(f"{name} is not an increasing curve")
        return curve


class _Beta:
    """Beta calibration (Kull, Silva Filho and Flach, 2017): logistic regression on
    ln(s) and -ln(1 - s) with both slopes kept non-negative (a negative one is dropped).
    """

    def fit(self, s: np.ndarray, y: np.ndarray) -> _Beta:
        x = self._features(s)
        self.keep = [0, 1]
        self.model = fit_curve(x, y)
        negative = [i for i, c in enumerate(self.model.coef_[0]) if c < 0]
        if negative:
            self.keep = [i for i in (0, 1) if i not in negative] or [0]
            self.model = fit_curve(x[:, self.keep], y)
        return self

    @staticmethod
    def _features(s: np.ndarray) -> np.ndarray:
        s = clip_probability(s)
        return np.column_stack([np.log(s), -np.log(1.0 - s)])

    def predict(self, s: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(self._features(s)[:, self.keep])[:, 1]

    def to_params(self) -> dict:
        return {"keep": list(self.keep), **logistic_params(self.model)}

    @classmethod
    def from_params(cls, params: dict, name: str) -> _Beta:
        curve = cls()
        curve.keep = field(params, "keep", list, name)
        if curve.keep not in ([0, 1], [0], [1]):
            raise ValueError(f"{name}.keep must be [0, 1], [0] or [1]")
        curve.model = logistic_from_params(params, len(curve.keep), name, **CURVE)
        return curve


_METHODS = {"platt": _Platt, "isotonic": _Isotonic, "beta": _Beta}


class ProbabilityCalibrator(BaseEstimator):
    """Maps raw scores to calibrated probabilities, optionally per regime, shrunk toward
    the base rate when the evidence is thin.

    Per-regime curves are shrunk to the global curve: a regime with ``n`` calibration rows
    gets weight ``n / (n + shrinkage)`` on its own curve; regimes with fewer than
    ``min_regime_rows`` rows (or only one class) use the global curve alone.

    The whole curve is then shrunk toward the evidence's base rate with weight
    ``d / (d + prior_dates) x max(0, 1 - EVIDENCE_BAR dof / G)``: evidence from ``d``
    distinct dates (rows of one date share the market's move, so dates, not rows, measure
    it), times a positive-part James-Stein-type factor of the curve's likelihood-ratio
    statistic ``G`` against the base rate (``dof`` 1 for Platt, 2 for beta, the steps for
    isotonic). ``G`` assumes independent rows; outcomes over overlapping horizons are
    not, so it is divided by the design effect of blocks of ``block_dates`` consecutive
    dates (the label horizon): the variance of the curve's slope score summed per block
    over its variance summed per row, at least 1. A curve fitted on one short slice, or
    on scores that carry no information, thus stays at or near the base rate, and a model
    without skill scores close to climatology instead of worse. Without
    ``dates`` (or with ``prior_dates=0``) there is no shrinkage.
    """

    def __init__(
        self,
        method: str = "isotonic",
        per_regime: bool = False,
        shrinkage: float = 300.0,
        min_regime_rows: int = 100,
        prior_dates: float = 0.0,
        *,
        block_dates: int = 1,
    ) -> None:
        self.method = method
        self.per_regime = per_regime
        self.shrinkage = shrinkage
        self.min_regime_rows = min_regime_rows
        self.prior_dates = prior_dates
        self.block_dates = block_dates

    def fit(self, scores, y, regimes=None, *, dates=None) -> ProbabilityCalibrator:
        """Fit on held-out ``scores`` and outcomes ``y`` (shape (n,) each); ``dates`` (n,)
        sets the shrinkage toward the base rate."""
        if self.method not in _METHODS:
            raise ValueError(f"calibration method must be one of {CALIBRATION_METHODS}")
        scores, y = np.asarray(scores, dtype=float), np.asarray(y, dtype=int)
        if len(np.unique(y)) < 2:
            raise ValueError("calibration needs both outcomes in its slice")
        self.base_rate_ = float(y.mean())
        self.global_ = _METHODS[self.method]().fit(scores, y)
        self.weight_ = 1.0
        if dates is not None and self.prior_dates:
            n_dates = len(np.unique(dates))
            evidence = self._evidence(scores, y, np.asarray(dates))
            self.weight_ = n_dates / (n_dates + self.prior_dates) * evidence
        self.regime_models_: dict[int, tuple[float, object]] = {}
        if self.per_regime and regimes is not None:
            regimes = np.asarray(regimes, dtype=float)
            for regime in np.unique(regimes[np.isfinite(regimes)]):
                rows = regimes == regime
                if rows.sum() < self.min_regime_rows or len(np.unique(y[rows])) < 2:
                    continue
                weight = rows.sum() / (rows.sum() + self.shrinkage)
                model = _METHODS[self.method]().fit(scores[rows], y[rows])
                self.regime_models_[int(regime)] = (float(weight), model)
        return self

    def _evidence(self, scores: np.ndarray, y: np.ndarray, dates: np.ndarray) -> float:
        """The positive-part James-Stein-type factor ``max(0, 1 - EVIDENCE_BAR dof / G)`` of
        the fitted curve, ``G`` its likelihood-ratio statistic against the constant base
        rate over the design effect of the date blocks: 0 unless the curve fits better
        than chance would at about the 5% level, near 1 when the evidence is strong."""
        fitted = clip_probability(self.global_.predict(scores))
        base = clip_probability(np.full(len(y), self.base_rate_))

        def loglik(p: np.ndarray) -> float:
            return float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))

        statistic = 2.0 * (loglik(fitted) - loglik(base))
        statistic /= self.design_effect(scores, y - fitted, dates)
        dof = {"platt": 1, "beta": 2}.get(
            self.method, max(len(getattr(self.global_, "x", [])) - 1, 1)
        )
        return float(max(0.0, 1.0 - EVIDENCE_BAR * dof / statistic)) if statistic > 0 else 0.0

    def design_effect(self, scores: np.ndarray, residuals: np.ndarray, dates: np.ndarray) -> float:
        """Variance of the slope score ``(logit s - mean) x residual`` summed per block of
        ``block_dates`` consecutive dates over its variance summed per row (>= 1). On the
        sample's 5-session labels it is about 4: neighbouring dates share most of their
        outcome window, and without it one fold's chance fit passed as evidence."""
        x = logit(scores)
        contributions = (x - x.mean()) * residuals
        per_row = float(np.sum(contributions**2))
        if per_row <= 0:
            return 1.0
        blocks = pd.factorize(dates, sort=True)[0] // max(1, int(self.block_dates))
        per_block = float(np.sum(np.bincount(blocks, weights=contributions) ** 2))
        return max(1.0, per_block / per_row)

    def predict_proba(self, scores, regimes=None) -> np.ndarray:
        """Calibrated P(up), shape (n,)."""
        scores = np.asarray(scores, dtype=float)
        p = self.global_.predict(scores)
        if regimes is not None and self.regime_models_:
            regimes = np.asarray(regimes, dtype=float)
            for regime, (weight, model) in self.regime_models_.items():
                rows = regimes == regime
                if rows.any():
                    p[rows] = weight * model.predict(scores[rows]) + (1 - weight) * p[rows]
        p = self.weight_ * p + (1.0 - self.weight_) * self.base_rate_
        return np.clip(p, EPS, 1 - EPS)

    def to_params(self) -> dict:
        """The fitted calibrator as plain JSON values (``from_params`` rebuilds it)."""
        return {
            "method": self.method,
            "per_regime": bool(self.per_regime),
            "shrinkage": float(self.shrinkage),
            "min_regime_rows": int(self.min_regime_rows),
            "prior_dates": float(self.prior_dates),
            "block_dates": int(self.block_dates),
            "weight": float(self.weight_),
            "base_rate": float(self.base_rate_),
            "global": self.global_.to_params(),
            "regimes": [
                {"regime": regime, "weight": weight, "curve": curve.to_params()}
                for regime, (weight, curve) in self.regime_models_.items()
            ],
        }

    @classmethod
    def from_params(cls, params: dict, name: str = "calibrator") -> ProbabilityCalibrator:
        """The calibrator ``to_params`` described; ValueError naming a bad value."""
        method = field(params, "method", str, name)
        if method not in _METHODS:
            raise ValueError(f"{name}.method must be one of {CALIBRATION_METHODS}")
        curve = _METHODS[method]
        calibrator = cls(
            method,
            per_regime=field(params, "per_regime", bool, name),
            shrinkage=number(params, "shrinkage", name),
            min_regime_rows=field(params, "min_regime_rows", int, name),
            prior_dates=number(params, "prior_dates", name) if "prior_dates" in params else 0.0,
            block_dates=field(params, "block_dates", int, name) if "block_dates" in params else 1,
        )
        # bundles written before the shrinkage existed carry none: weight 1
        calibrator.weight_ = number(params, "weight", name) if "weight" in params else 1.0
        calibrator.base_rate_ = number(params, "base_rate", name) if "base_rate" in params else 0.5
        if not (0 <= calibrator.weight_ <= 1 and 0 <= calibrator.base_rate_ <= 1):
            raise ValueError(f"{name}.weight and {name}.base_rate must lie in [0, 1]")
        calibrator.global_ = curve.from_params(params.get("global"), f"{name}.global")
        calibrator.regime_models_ = {}
        for i, entry in enumerate(field(params, "regimes", list, name)):
            where = f"{name}.regimes[{i}]"
            weight = number(entry, "weight", where)
            if not 0 <= weight <= 1:
                raise ValueError(f"{where}.weight must lie in [0, 1]")
            calibrator.regime_models_[field(entry, "regime", int, where)] = (
                weight,
                curve.from_params(entry.get("curve"), f"{where}.curve"),
            )
        return calibrator
