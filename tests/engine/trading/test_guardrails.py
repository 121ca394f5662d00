"""The guardrails' pure rules: each check's reading against its threshold, no trip without
evidence, the account's verdict, and the targets a paused account may still trade."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.metrics import wilson_interval
from engine.modeling.calibration_scores import expected_calibration_error
from engine.trading.guardrails import (
    GuardrailParams,
    drawdown_check,
    ece_check,
    external_reading,
    hit_rate_check,
    reducing_targets,
    vix_check,
)
from engine.trading.paper import PaperParams, check_guardrails

PARAMS = GuardrailParams()
DAY = pd.Timestamp("2018-07-02")


def test_a_hit_rate_below_its_expectation_beyond_the_interval_trips() -> None:
    p = np.full(100, 0.7)
    beat = np.r_[np.ones(40), np.zeros(60)]  # 40% against the 70% expected
    reading = hit_rate_check(p, beat, PARAMS)
    interval = wilson_interval(40, 100)
    assert interval.high < 0.7
    assert reading.tripped and reading.reading == pytest.approx(0.4)
    assert reading.threshold == pytest.approx(0.7)
    assert "below it beyond the interval" in reading.reason and "100 outcomes" in reading.reason


def test_a_hit_rate_whose_interval_reaches_the_expectation_does_not_trip() -> None:
    p = np.full(100, 0.6)
    beat = np.r_[np.ones(52), np.zeros(48)]  # 52%: low, but 60% is inside its interval
    reading = hit_rate_check(p, beat, PARAMS)
    assert not reading.tripped and wilson_interval(52, 100).high >= 0.6


def test_only_the_forecasts_the_model_acted_on_count() -> None:
    p = np.r_[np.full(30, 0.7), np.full(200, 0.3)]  # 200 forecasts of no beat: not acted on
    beat = np.r_[np.zeros(30), np.zeros(200)]
    reading = hit_rate_check(p, beat, PARAMS)
    assert reading.tripped and reading.reading == 0.0 and "30 outcomes" in reading.reason


def test_too_few_outcomes_is_not_enough_evidence_and_never_trips() -> None:
    p, beat = np.full(29, 0.9), np.zeros(29)
    for check in (hit_rate_check, ece_check):
        reading = check(p, beat, PARAMS)
        assert not reading.tripped and np.isnan(reading.reading)
        assert reading.reason == "not enough evidence: 29 of the 30 outcomes it needs"


def test_unknown_outcomes_are_not_counted() -> None:
    p = np.full(40, 0.9)
    beat = np.r_[np.zeros(20), np.full(20, np.nan)]
    assert "20 of the 30" in hit_rate_check(p, beat, PARAMS).reason


def test_live_ece_above_the_limit_trips() -> None:
    rng = np.random.default_rng(3)
    p = rng.uniform(0.55, 0.95, 200)
    beat = (rng.uniform(size=200) < 0.3).astype(float)  # far below what p says
    reading = ece_check(p, beat, PARAMS)
    assert reading.reading == pytest.approx(expected_calibration_error(beat, p))
    assert reading.tripped and reading.reading > 0.15 and reading.threshold == 0.15
    calibrated = (rng.uniform(size=200) < p).astype(float)
    assert not ece_check(p, calibrated, PARAMS).tripped


def test_vix_above_its_level_trips_and_no_bar_is_no_reading() -> None:
    high = vix_check(40.74, DAY, PARAMS)
    assert high.tripped and high.reason == "VIX closed at 40.7 on 2018-07-02, above 35"
    assert not vix_check(15.6, DAY, PARAMS).tripped
    missing = vix_check(np.nan, DAY, PARAMS)
    assert not missing.tripped and missing.reason == "no VIX close on 2018-07-02: no reading"


def test_drawdown_is_the_circuit_breaker() -> None:
    tripped = drawdown_check(89_000.0, 100_000.0, 0.10)
    assert tripped.tripped and tripped.reason == "circuit breaker: equity -11.0% from its peak"
    assert not drawdown_check(91_000.0, 100_000.0, 0.10).tripped
    assert drawdown_check(100.0, 100.0, 0.0).tripped  # a limit of 0 trips at the peak


def test_an_external_check_trips_with_its_reason() -> None:
    assert external_reading("slippage", "slippage 12 bps above the model").tripped
    assert not external_reading("slippage", None).tripped


def test_thresholds_are_validated() -> None:
    with pytest.raises(ValueError, match="max_ece must be in"):
        GuardrailParams(max_ece=0.0)
    with pytest.raises(ValueError, match="min_outcomes must be a whole number"):
        GuardrailParams(min_outcomes=2.5)


def test_a_paused_account_stays_paused_and_a_trip_pauses_it() -> None:
    params = PaperParams()
    tripped = (vix_check(40.0, DAY, PARAMS), vix_check(15.0, DAY, PARAMS))
    guard = check_guardrails(tripped, 100.0, 100.0, halted=False, params=params)
    assert not guard.allow_openings and guard.halt_account and guard.reason.startswith("VIX")
    paused = check_guardrails((), 100.0, 100.0, halted=True, params=params)
    assert not paused.allow_openings and not paused.halt_account
    assert "paused by the circuit breaker" in paused.reason
    loss = check_guardrails(tripped[1:], 97.0, 100.0, halted=False, params=params)
    assert not loss.allow_openings and not loss.halt_account and "daily loss" in loss.reason
    assert check_guardrails(tripped[1:], 100.0, 100.0, halted=False, params=params).allow_openings


def test_a_paused_account_keeps_only_targets_that_reduce_or_close() -> None:
    targets = pd.DataFrame(
        {"target_weight": [0.05, 0.0, 0.2, 0.1, -0.1, -0.05, 0.1]},
        index=["LESS", "CLOSE", "MORE", "NEW", "FLIP", "SHORT_LESS", "SAME"],
    )
    held = pd.Series(
        {"LESS": 0.1, "CLOSE": 0.1, "MORE": 0.1, "FLIP": 0.1, "SHORT_LESS": -0.1, "SAME": 0.1}
    )
    kept = reducing_targets(targets, held)
    assert list(kept.index) == ["LESS", "CLOSE", "SHORT_LESS"]
