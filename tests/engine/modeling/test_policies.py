"""Retraining policies: the schedule's sessions, when a retrain is due, and the schedule
as walk-forward folds that never train on an outcome not known by the retrain session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.modeling.policies import (
    RetrainPolicy,
    ScheduledRetrain,
    retrain_reasons,
    retrain_sessions,
    schedule_due,
)

SESSIONS = pd.bdate_range("2020-01-01", "2021-12-31")


def test_retrain_sessions_are_the_first_session_of_each_period_from_the_start() -> None:
    monthly = retrain_sessions(SESSIONS, pd.Timestamp("2021-01-15"), "monthly")
    assert monthly[0] == pd.Timestamp("2021-01-15")
    assert list(monthly[1:4]) == list(pd.to_datetime(["2021-02-01", "2021-03-01", "2021-04-01"]))
    assert len(monthly) == 12
    weekly = retrain_sessions(SESSIONS, pd.Timestamp("2021-01-04"), "weekly")
    assert (weekly.day_of_week == 0).all() and len(weekly) == 52
    assert len(retrain_sessions(SESSIONS, pd.Timestamp("2021-01-04"), "quarterly")) == 4
    assert list(retrain_sessions(SESSIONS, pd.Timestamp("2021-01-04"), "static")) == [
        pd.Timestamp("2021-01-04")
    ]


def test_schedule_due_once_per_period_and_never_for_static() -> None:
    last = pd.Timestamp("2021-03-01")
    assert not schedule_due("monthly", last, pd.Timestamp("2021-03-31"))
    assert schedule_due("monthly", last, pd.Timestamp("2021-04-01"))
    assert not schedule_due("weekly", pd.Timestamp("2021-03-01"), pd.Timestamp("2021-03-05"))
    assert schedule_due("weekly", pd.Timestamp("2021-03-05"), pd.Timestamp("2021-03-08"))
    assert not schedule_due("static", last, pd.Timestamp("2025-01-01"))
    assert schedule_due("static", None, pd.Timestamp("2025-01-01"))


def test_reasons_name_each_trigger_only_when_the_policy_has_it() -> None:
    day, last = pd.Timestamp("2021-03-10"), pd.Timestamp("2021-03-01")
    plain = RetrainPolicy("monthly")
    assert retrain_reasons(plain, day, last, drift=("psi",), live_standing="below") == []
    armed = RetrainPolicy("monthly", on_drift=True, on_performance=True)
    reasons = retrain_reasons(
        armed, day, last, drift=("PSI of rsi_14 0.31",), live_standing="below"
    )
    assert reasons == [
        "drift: PSI of rsi_14 0.31",
        "live rank IC below the backtest's interval",
    ]
    assert retrain_reasons(armed, day, last, live_standing="within") == []
    assert retrain_reasons(plain, pd.Timestamp("2021-04-01"), last) == [
        "monthly schedule (last 2021-03-01)"
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cadence": "daily"}, "cadence must be one of"),
        ({"window_months": 3}, "window_months must be a whole number from 6 to 60"),
        ({"window_months": 12.5}, "window_months must be a whole number"),
        ({"on_drift": "yes"}, "on_drift must be true or false"),
    ],
)
def test_bad_policies_are_refused_by_name(values, message) -> None:
    with pytest.raises(ValueError, match=message):
        RetrainPolicy(**values)


def test_policy_round_trips_and_describes_itself() -> None:
    policy = RetrainPolicy("weekly", 12, on_drift=True)
    assert RetrainPolicy.from_dict(policy.as_dict()) == policy
    assert policy.describe() == "weekly, on drift; 12-month window"
    assert RetrainPolicy("static").describe() == "never on a schedule; 18-month window"


def _rows(horizon: int = 5) -> tuple[pd.DataFrame, pd.Series]:
    index = pd.MultiIndex.from_product([["A", "B"], SESSIONS], names=["ticker", "date"])
    frame = pd.DataFrame({"x": np.arange(len(index), dtype=float)}, index=index)
    dates = index.get_level_values("date")
    position = SESSIONS.get_indexer(dates)
    ends = SESSIONS[np.minimum(position + horizon, len(SESSIONS) - 1)]
    return frame, pd.Series(ends, index=index)


def test_folds_train_on_the_window_before_each_retrain_with_outcomes_known_by_then() -> None:
    frame, ends = _rows()
    splitter = ScheduledRetrain(pd.Timestamp("2021-01-04"), "monthly", window_months=12)
    folds = list(splitter.split(frame, groups=ends))
    assert len(folds) == splitter.get_n_splits(frame, groups=ends) == 12
    dates = frame.index.get_level_values("date")
    tested = np.concatenate([test for _, test in folds])
    assert len(tested) == len(np.unique(tested))  # every test row once
    assert dates[tested].min() == pd.Timestamp("2021-01-04")
    assert dates[tested].max() == SESSIONS[-1]
    for train, test in folds:
        start = dates[test].min()
        assert ends.to_numpy()[train].max() < start  # no outcome reaching the retrain
        assert dates[train].min() >= start - pd.DateOffset(months=12)
        assert dates[test].max() < start + pd.DateOffset(months=1, days=3)


def test_static_is_one_fold_to_the_end_and_a_short_first_window_is_refused() -> None:
    frame, ends = _rows()
    static = list(ScheduledRetrain(pd.Timestamp("2021-01-04"), "static").split(frame, groups=ends))
    assert len(static) == 1
    assert frame.index.get_level_values("date")[static[0][1]].max() == SESSIONS[-1]
    with pytest.raises(ValueError, match="first retrain session, 2020-02-03, has fewer than 120"):
        list(ScheduledRetrain(pd.Timestamp("2020-02-03"), "monthly").split(frame, groups=ends))
