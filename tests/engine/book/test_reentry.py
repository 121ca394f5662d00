"""The re-entry watch: met / not met / unknown per condition, "since", and nothing after
the as-of date read."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.book import BookError
from engine.book.reentry import check_condition, evaluate_reentry, no_forecasts

DATES = pd.bdate_range("2022-03-01", periods=10)
CLOSES = pd.Series([10, 11, 12, 11, 10.5, 10, 9, 9.5, 12, 8], index=DATES, dtype=float)
REGIMES = pd.Series(1.0, index=DATES)
# the run stored forecasts for the last six dates only
FORECASTS = pd.DataFrame({"percentile": 0.9, "p": 0.7}, index=DATES[4:])
# pullback from the 3-session high: NaN, NaN, 0, 1/12, 1.5/12, 1/11, 1.5/10.5, 0.05, 0, 1/3
CONDITION = check_condition("aapl", pullback_days=3, min_pullback=0.1, min_p=0.6, regimes=[1, 5])


def status_at(day: int, **inputs):
    values = {"closes": CLOSES, "regime_ids": REGIMES, "forecasts": FORECASTS} | inputs
    return evaluate_reentry(CONDITION, as_of=DATES[day], **values)


def test_since_is_the_start_of_the_current_run_of_met_sessions() -> None:
    at = status_at(6)
    assert at.state == "met" and at.since == DATES[6] and not at.since_start  # day 5 broke it
    checks = at.checks.set_index("condition")
    assert checks.loc["pullback", "value"] == pytest.approx(1 - 9 / 10.5)
    assert set(checks["state"]) == {"met"}
    assert status_at(4).since == DATES[4]
    assert status_at(5).state == "not met" and status_at(5).since is None


def test_a_missing_forecast_is_unknown_not_unmet() -> None:
    at = status_at(3, forecasts=FORECASTS.iloc[2:])  # nothing stored up to day 5
    assert at.state == "not met"  # the pullback (1/12) is not enough: one "no" decides
    at = status_at(4, forecasts=no_forecasts())
    states = at.checks.set_index("condition")["state"]
    assert states["P(beats median)"] == "unknown" and states["pullback"] == "met"
    assert at.state == "unknown" and at.since is None


def test_a_run_met_since_the_first_session_says_so() -> None:
    only_regime = check_condition("AAPL", regimes=[1])
    at = evaluate_reentry(only_regime, CLOSES, REGIMES, no_forecasts(), DATES[9])
    assert at.since == DATES[0] and at.since_start


def test_data_after_the_as_of_date_changes_nothing() -> None:
    rng = np.random.default_rng(0)
    future = DATES[6] < DATES
    poisoned = {
        "closes": CLOSES.where(~future, rng.uniform(1, 100, len(DATES))),
        "regime_ids": REGIMES.where(~future, 9.0),
        "forecasts": FORECASTS.mask(
            np.broadcast_to((FORECASTS.index > DATES[6])[:, None], (6, 2)), 0.0
        ),
    }
    clean, dirty = status_at(6), status_at(6, **poisoned)
    assert (clean.state, clean.since, clean.session) == (dirty.state, dirty.since, dirty.session)
    pd.testing.assert_frame_equal(clean.checks, dirty.checks)


def test_no_prices_and_bad_conditions() -> None:
    empty = pd.Series(index=pd.DatetimeIndex([]), dtype=float)
    assert evaluate_reentry(CONDITION, empty, REGIMES, FORECASTS, DATES[5]).state == "no prices"
    with pytest.raises(BookError, match="rank percentile: '-0.1' must be a number from 0 to 1"):
        check_condition("AAPL", min_percentile=-0.1)
    with pytest.raises(BookError, match="ticker: Invalid ticker"):
        check_condition("bad ticker!", min_p=0.5)
