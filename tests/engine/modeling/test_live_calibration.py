"""Live recalibration rules on planted live records: outcomes after the as-of date are
never used, a planted miscalibration is corrected on later outcomes, calibrated or thin
evidence leaves the identity map, and the judgement claims no improvement its interval
does not support."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.modeling.live_calibration import (
    DEFAULT_CONFIG,
    PRIOR_OUTCOMES,
    SCORED,
    LiveCalibrationConfig,
    LiveCalibrationMap,
    fit_live_calibration,
    judge_live_calibration,
    new_outcomes,
)

HORIZON = 5
NAMES = 10


def live_record(days: int = 120, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """``NAMES`` forecasts a session for ``days`` sessions, each outcome ``HORIZON``
    sessions later: the true P(beat) is uniform on [0.25, 0.75], the recorded ``p`` is
    it moved by ``shift`` in logit (shift > 0: systematically too high)."""
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range("2021-01-04", periods=days + HORIZON)
    truth = rng.uniform(0.25, 0.75, (days, NAMES))
    logit = np.log(truth / (1 - truth)) + shift
    return pd.DataFrame(
        {
            "as_of": np.repeat(sessions[:days], NAMES),
            "ticker": np.tile([f"T{i}" for i in range(NAMES)], days),
            "p": (1 / (1 + np.exp(-logit))).ravel(),
            "beat": (rng.uniform(size=(days, NAMES)) < truth).astype(float).ravel(),
            "outcome_date": np.repeat(sessions[HORIZON:], NAMES),
        }
    )[SCORED]


def refit_versions(scored: pd.DataFrame) -> pd.DataFrame:
    """Every version a routine run each session would fit (one per ``refit_after`` new
    outcomes), as the store keeps them."""
    rows, since = [], None
    for day in sorted(scored["as_of"].unique()):
        if new_outcomes(scored, since, day) >= DEFAULT_CONFIG.refit_after:
            fit = fit_live_calibration(scored, day, block=HORIZON)
            rows.append((len(rows) + 1, day, fit.outcomes, fit.weight, *vars(fit.map).values()))
            since = day
    columns = ["version", "fitted_as_of", "outcomes", "shrinkage", "intercept", "slope"]
    return pd.DataFrame(rows, columns=columns)


def test_outcomes_dated_after_the_as_of_date_change_nothing() -> None:
    scored = live_record(shift=1.0)
    as_of = scored["as_of"].unique()[60]
    before = fit_live_calibration(scored, as_of, block=HORIZON)
    poisoned = scored.copy()
    later = poisoned["outcome_date"] > as_of
    poisoned.loc[later, "beat"] = 1.0 - poisoned.loc[later, "beat"]
    poisoned.loc[later, "p"] = 0.01
    assert later.sum() > 500  # the poison would dominate a window that read it
    assert fit_live_calibration(poisoned, as_of, block=HORIZON) == before
    assert new_outcomes(poisoned, None, as_of) == new_outcomes(scored, None, as_of) == 560
    assert before.last_outcome <= as_of and before.outcomes == 500


def test_a_planted_miscalibration_is_corrected_on_later_outcomes() -> None:
    scored = live_record(shift=1.0)  # p too high: 0.5 recorded for a true 0.27
    versions = refit_versions(scored)
    assert len(versions) == 38 and (versions["fitted_as_of"].diff().dropna().dt.days > 0).all()
    newest = versions.iloc[-1]
    # a full window earns at most 500 / 750 of the fit, whose intercept is about -1
    assert 0.55 < newest["shrinkage"] < 500 / (500 + PRIOR_OUTCOMES)
    assert -0.75 < newest["intercept"] < -0.45 and 0.85 < newest["slope"] < 1.1
    judged = judge_live_calibration(versions, scored, scored["outcome_date"].max(), block=HORIZON)
    assert judged.standing == "helps" and "lowered the Brier score" in judged.verdict
    assert judged.brier_change.high < 0 and judged.ece_change.high < 0
    assert judged.ece_live.high < judged.ece_raw.low
    # judged prequentially: forecasts made before the first version are not judged
    first = versions["fitted_as_of"].iloc[0]
    assert judged.judged == int((scored["as_of"] >= first).sum())
    assert judged.versions["judged"].sum() == judged.judged


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_well_calibrated_input_stays_near_the_identity(seed: int) -> None:
    scored = live_record(shift=0.0, seed=seed)
    fit = fit_live_calibration(scored, scored["outcome_date"].max(), block=HORIZON)
    assert fit.outcomes == 500
    assert abs(fit.map.intercept) < 0.05 and abs(fit.map.slope - 1.0) < 0.05
    p = np.linspace(0.2, 0.8, 13)
    assert np.abs(fit.map.apply(p) - p).max() < 0.02


def test_well_calibrated_versions_claim_no_improvement() -> None:
    scored = live_record(shift=0.0, seed=0)
    versions = refit_versions(scored)
    judged = judge_live_calibration(versions, scored, scored["outcome_date"].max(), block=HORIZON)
    assert judged.standing == "unclear"
    assert judged.brier_change.low <= 0 <= judged.brier_change.high
    assert judged.verdict.startswith("recalibration does not measurably help")


def test_few_outcomes_keep_the_map_near_the_identity() -> None:
    scored = live_record(shift=1.5)
    as_of = scored["as_of"].unique()[HORIZON + 2]  # three sessions of outcomes known
    fit = fit_live_calibration(scored, as_of, block=HORIZON)
    assert fit.outcomes == 30 and fit.fitted.intercept < -1.0
    assert fit.weight <= 30 / (30 + PRIOR_OUTCOMES)
    assert abs(fit.map.intercept) < 0.11 * abs(fit.fitted.intercept)
    assert abs(fit.map.intercept) < 0.15


def test_no_outcome_or_one_class_gives_the_identity() -> None:
    scored = live_record()
    first = scored["as_of"].iloc[0]
    fit = fit_live_calibration(scored, first, block=HORIZON)
    assert fit.map == LiveCalibrationMap() and fit.outcomes == 0 and fit.weight == 0.0
    one_class = scored.assign(beat=1.0)
    fit = fit_live_calibration(one_class, scored["outcome_date"].max(), block=HORIZON)
    assert fit.map == LiveCalibrationMap() and fit.outcomes == 500
    p = np.array([0.3, np.nan, 0.7])
    np.testing.assert_allclose(LiveCalibrationMap().apply(p), p)
    judged = judge_live_calibration(
        refit_versions(scored).iloc[:0], scored, scored["outcome_date"].max(), block=HORIZON
    )
    assert judged.standing == "unjudged" and judged.judged == 0


def test_parameters_out_of_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="slope"):
        LiveCalibrationMap(0.0, -0.5)
    with pytest.raises(ValueError, match="intercept"):
        LiveCalibrationMap(float("nan"), 1.0)
    with pytest.raises(ValueError, match="intercept and slope"):
        LiveCalibrationMap.from_params({"slope": 1.0})
    with pytest.raises(ValueError, match="refit_after"):
        LiveCalibrationConfig(refit_after=0)
    with pytest.raises(ValueError, match="prior_outcomes"):
        LiveCalibrationConfig(prior_outcomes=-1.0)
