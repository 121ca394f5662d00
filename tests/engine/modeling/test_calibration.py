"""Calibrators repair a known distortion; metrics measure it; regimes shrink to global."""

from __future__ import annotations

import numpy as np
import pytest

from engine.modeling.calibration import CALIBRATION_METHODS, ProbabilityCalibrator
from engine.modeling.calibration_scores import (
    brier,
    calibration_metrics,
    equal_mass_bins,
    expected_calibration_error,
    reliability_curve,
)


def distorted(n: int, seed: int, power: float = 2.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True P(up) and an overconfident score: logit(score) = power x logit(truth)."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0.2, 0.8, n)
    logit = np.log(truth / (1 - truth)) * power
    score = 1 / (1 + np.exp(-logit))
    y = (rng.uniform(size=n) < truth).astype(int)
    return truth, score, y


def test_ece_is_near_zero_for_true_probabilities_and_sees_a_shift() -> None:
    truth, _, y = distorted(40_000, 1)
    assert expected_calibration_error(y, truth) < 0.01
    assert expected_calibration_error(y, np.clip(truth + 0.1, 0, 1)) == pytest.approx(0.1, abs=0.01)


@pytest.mark.parametrize("method", CALIBRATION_METHODS)
def test_each_method_repairs_an_overconfident_score(method) -> None:
    _, score, y = distorted(20_000, 2)
    truth_new, score_new, y_new = distorted(20_000, 3)
    calibrator = ProbabilityCalibrator(method=method).fit(score, y)
    p = calibrator.predict_proba(score_new)
    assert expected_calibration_error(y_new, score_new) > 0.05
    assert expected_calibration_error(y_new, p) < 0.02
    assert brier(y_new, p) < brier(y_new, score_new)
    assert np.abs(p - truth_new).mean() < 0.03


def test_per_regime_curves_shrink_to_the_global_one() -> None:
    _, score_a, y_a = distorted(6000, 4, power=2.5)
    _, score_b, y_b = distorted(6000, 5, power=0.5)  # regime 7: underconfident instead
    _, score_c, y_c = distorted(40, 6, power=0.5)  # regime 9: too few rows for its own curve
    scores = np.concatenate([score_a, score_b, score_c])
    y = np.concatenate([y_a, y_b, y_c])
    regimes = np.concatenate([np.full(6000, 0.0), np.full(6000, 7.0), np.full(40, 9.0)])
    calibrator = ProbabilityCalibrator("platt", per_regime=True, shrinkage=300).fit(
        scores, y, regimes
    )
    assert set(calibrator.regime_models_) == {0, 7}
    assert calibrator.regime_models_[7][0] == pytest.approx(6000 / 6300)
    grid = np.array([0.3, 0.7])
    global_p = calibrator.predict_proba(grid)
    assert np.allclose(calibrator.predict_proba(grid, np.array([9.0, 9.0])), global_p)
    own_p = calibrator.predict_proba(grid, np.array([7.0, 7.0]))
    assert own_p[0] < global_p[0] and own_p[1] > global_p[1]  # regime 7 stretches, not squeezes


def test_reliability_curve_uses_equal_mass_bins_with_wilson_intervals() -> None:
    truth, _, y = distorted(5000, 7)
    curve = reliability_curve(y, truth, n_bins=10)
    assert curve["count"].tolist() == [500] * 10
    assert (curve["low"] <= curve["observed"]).all() and (curve["observed"] <= curve["high"]).all()
    inside = (curve["low"] <= curve["mean_forecast"]) & (curve["mean_forecast"] <= curve["high"])
    assert inside.sum() >= 8
    assert np.bincount(equal_mass_bins(np.arange(7.0), 3)).tolist() == [3, 2, 2]


def test_calibration_metrics_report_intervals_and_climatology() -> None:
    truth, score, y = distorted(6000, 8)
    dates = np.repeat(np.arange(300), 20)
    metrics = calibration_metrics(y, truth, dates, n_boot=100)
    assert metrics["ece"].low <= metrics["ece"].estimate <= metrics["ece"].high
    assert metrics["brier"].estimate < metrics["brier_climatology"]
    assert metrics["log_loss"].estimate < metrics["log_loss_climatology"]


def test_bad_calibration_inputs_are_named() -> None:
    with pytest.raises(ValueError, match="one of"):
        ProbabilityCalibrator(method="magic").fit([0.2, 0.8], [0, 1])
    with pytest.raises(ValueError, match="both outcomes"):
        ProbabilityCalibrator().fit([0.2, 0.8], [1, 1])


def test_outcomes_shared_by_neighbouring_dates_add_no_evidence() -> None:
    """Five consecutive dates that repeat one date's scores and outcomes (labels over
    overlapping 5-session windows, taken to the extreme) carry that one date's evidence:
    divided by the design effect of 5-date blocks, the curve earns the same weight."""
    _, score, y = distorted(300, 9, power=1.3)
    once = ProbabilityCalibrator("platt", prior_dates=60).fit(score, y, dates=np.arange(300))
    copies = (np.arange(300)[:, None] * 5 + np.arange(5)[None, :]).ravel()  # 1,500 dates
    fives = np.repeat(score, 5), np.repeat(y, 5)
    repeated = ProbabilityCalibrator("platt", prior_dates=60, block_dates=5)
    repeated.fit(*fives, dates=copies)
    naive = ProbabilityCalibrator("platt", prior_dates=60).fit(*fives, dates=copies)
    evidence = once.weight_ / (300 / 360)
    assert 0 < evidence < 1
    assert repeated.weight_ / (1500 / 1560) == pytest.approx(evidence, rel=1e-9)
    assert naive.weight_ / (1500 / 1560) > evidence  # rows counted as independent: 5x the G
    rebuilt = ProbabilityCalibrator.from_params(repeated.to_params())
    assert rebuilt.block_dates == 5
    assert np.allclose(rebuilt.predict_proba(score[:50]), repeated.predict_proba(score[:50]))
