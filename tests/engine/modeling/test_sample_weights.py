"""Fit weights: concurrency, average uniqueness and time decay, by hand, against a slow
reference, without look-ahead, and their effect on a fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

from engine.modeling.sample_weights import (
    SampleWeightParams,
    average_uniqueness,
    label_concurrency,
    sample_weights,
    time_decay,
)

DAYS = pd.bdate_range("2024-01-01", periods=12)


def days(*positions: int) -> np.ndarray:
    return DAYS[list(positions)].to_numpy()


# Three labels: A on sessions 0..2, B on 1..3, C on 3 alone.
HAND_DATES, HAND_ENDS = days(0, 1, 3), days(2, 3, 3)


def test_concurrency_counts_the_labels_alive_on_each_session() -> None:
    concurrency = label_concurrency(HAND_DATES, HAND_ENDS)
    assert concurrency.index.tolist() == list(DAYS[:4])
    assert concurrency.tolist() == [1, 2, 2, 2]


def test_average_uniqueness_is_the_mean_inverse_concurrency_over_a_labels_life() -> None:
    # A: (1 + 1/2 + 1/2) / 3; B: (1/2 + 1/2 + 1/2) / 3; C: 1/2
    assert average_uniqueness(HAND_DATES, HAND_ENDS) == pytest.approx([2 / 3, 1 / 2, 1 / 2])


def test_time_decay_is_linear_in_cumulative_uniqueness() -> None:
    uniqueness = average_uniqueness(HAND_DATES, HAND_ENDS)
    # cumulative uniqueness by date: 2/3, 7/6, 5/3 (total)
    assert time_decay(uniqueness, HAND_DATES, 1.0) == pytest.approx([1.0, 1.0, 1.0])
    # c = 0: w = x / total
    assert time_decay(uniqueness, HAND_DATES, 0.0) == pytest.approx([0.4, 0.7, 1.0])
    # c = 0.5: w = 0.5 + 0.5 x / total
    assert time_decay(uniqueness, HAND_DATES, 0.5) == pytest.approx([0.7, 0.85, 1.0])
    # c = -0.5: w = max(0, -1 + 1.2 x): the oldest half of the uniqueness gets 0
    assert time_decay(uniqueness, HAND_DATES, -0.5) == pytest.approx([0.0, 0.4, 1.0])


def test_combined_weights_multiply_and_have_mean_one() -> None:
    weights = sample_weights(HAND_DATES, HAND_ENDS, SampleWeightParams(decay=-0.5))
    raw = np.array([2 / 3 * 0.0, 1 / 2 * 0.4, 1 / 2 * 1.0])
    assert weights == pytest.approx(raw / raw.mean())
    assert sample_weights(HAND_DATES, HAND_ENDS, SampleWeightParams(uniqueness=False)) == (
        pytest.approx([1.0, 1.0, 1.0])
    )


def test_rows_of_one_date_share_their_decay_and_unknown_outcomes_stay_nan() -> None:
    dates, ends = days(0, 0, 2, 4), np.array([*days(1, 3, 2)[:3], np.datetime64("NaT")])
    uniqueness = average_uniqueness(dates, ends)
    decay = time_decay(uniqueness, dates, 0.0)
    assert decay[0] == decay[1]
    assert np.isnan(uniqueness[3]) and np.isnan(decay[3])
    weights = sample_weights(dates, ends, SampleWeightParams(decay=0.0))
    assert np.isnan(weights[3]) and np.nanmean(weights) == pytest.approx(1.0)
    # the unknown row counts towards nobody's concurrency
    assert label_concurrency(dates, ends).max() == 2


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="decay"):
        SampleWeightParams(decay=-1.0)
    with pytest.raises(ValueError, match="decay"):
        SampleWeightParams(decay=1.5)
    with pytest.raises(ValueError, match="before its own date"):
        average_uniqueness(days(3), days(1))


def reference(dates: np.ndarray, ends: np.ndarray, decay: float) -> tuple[np.ndarray, ...]:
    """Concurrency, uniqueness and decay by loops over sessions and rows."""
    sessions = np.unique(np.concatenate([dates, ends]))
    concurrency = np.zeros(len(sessions))
    for k, session in enumerate(sessions):
        for date, end in zip(dates, ends, strict=True):
            concurrency[k] += date <= session <= end
    uniqueness = np.zeros(len(dates))
    for row, (date, end) in enumerate(zip(dates, ends, strict=True)):
        alive = (sessions >= date) & (sessions <= end)
        uniqueness[row] = np.mean(1.0 / concurrency[alive])
    total = uniqueness.sum()
    slope = (1 - decay) / total if decay >= 0 else 1 / ((decay + 1) * total)
    weights = np.zeros(len(dates))
    for row, date in enumerate(dates):
        weights[row] = max(0.0, 1 - slope * total + slope * uniqueness[dates <= date].sum())
    return concurrency, uniqueness, weights


@settings(max_examples=60, deadline=None)
@given(
    spans=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 4)), min_size=1, max_size=25),
    decay=st.floats(-0.95, 1.0),
)
def test_vectorized_weights_match_the_slow_reference(spans, decay) -> None:
    dates = DAYS[[start for start, _ in spans]].to_numpy()
    ends = DAYS[[start + length for start, length in spans]].to_numpy()
    concurrency, uniqueness, weights = reference(dates, ends, decay)
    assert label_concurrency(dates, ends).to_numpy() == pytest.approx(concurrency)
    assert average_uniqueness(dates, ends) == pytest.approx(uniqueness)
    assert time_decay(uniqueness, dates, decay) == pytest.approx(weights, abs=1e-12)
    combined = uniqueness * weights
    assert sample_weights(dates, ends, SampleWeightParams(decay=decay)) == pytest.approx(
        combined / combined.mean()
    )


def panel_labels(n_tickers: int, n_dates: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Dates and end dates of a panel's labels, ``horizon`` sessions each, date-major."""
    sessions = pd.bdate_range("2020-01-01", periods=n_dates + horizon).to_numpy()
    dates = np.repeat(sessions[:n_dates], n_tickers)
    return dates, np.repeat(sessions[horizon : n_dates + horizon], n_tickers)


def test_a_label_ending_after_the_fit_window_is_refused() -> None:
    dates, ends = panel_labels(3, 20, 5)
    through = dates[-1]  # the window's last session: the last labels end 5 sessions later
    with pytest.raises(ValueError, match="after the fit window"):
        sample_weights(dates, ends, through=through)
    known = ends <= through
    assert np.isfinite(sample_weights(dates[known], ends[known], through=through)).all()


def test_a_rows_weight_never_depends_on_rows_after_its_fit_window() -> None:
    dates, ends = panel_labels(3, 60, 5)
    window = ends <= dates[30 * 3]  # rows whose outcome is known by session 30
    in_window = sample_weights(dates[window], ends[window])
    # the same rows weighted among every label, then sliced, would see the labels after
    # the window that share their last sessions: those rows would weigh less
    sliced = sample_weights(dates, ends)[window]
    assert not np.allclose(in_window / in_window.mean(), sliced / sliced.mean())
    # later rows, whatever their labels, cannot move the window's weights
    poisoned_ends = np.where(window, ends, ends + np.timedelta64(40, "D"))
    assert sample_weights(dates[window], poisoned_ends[window]) == pytest.approx(in_window)


def test_weights_change_a_fit_on_overlapping_labels_and_not_without_overlap() -> None:
    rng = np.random.default_rng(3)
    n = 400
    sessions = pd.bdate_range("2021-01-01", periods=n + 20).to_numpy()
    dates = sessions[:n]
    X = rng.standard_normal((n, 2))
    y = (X[:, 0] + rng.standard_normal(n) > 0).astype(int)

    def coefficients(weight: np.ndarray | None) -> np.ndarray:
        return LogisticRegression().fit(X, y, sample_weight=weight).coef_

    overlapping = sessions[np.arange(n) + rng.integers(0, 20, n)]  # lengths 1-20 sessions
    weights = sample_weights(dates, overlapping)
    assert weights.std() > 0.1
    assert not np.allclose(coefficients(weights), coefficients(None), atol=1e-3)
    # one-session labels on distinct dates share nothing: every weight is 1
    alone = sample_weights(dates, dates)
    assert alone == pytest.approx(np.ones(n))
    assert coefficients(alone) == pytest.approx(coefficients(None))


def test_on_a_full_panel_an_interior_label_shares_each_session_with_six_dates() -> None:
    # 155 tickers x 1,260 dates, 5-session labels alive on 6 sessions (date .. end)
    dates, ends = panel_labels(155, 1260, 5)
    uniqueness = average_uniqueness(dates, ends)
    assert uniqueness[155 * 600] == pytest.approx(1 / (6 * 155))
    assert uniqueness[0] > uniqueness[155 * 600]  # the first labels have fewer neighbours
    weights = sample_weights(dates, ends, SampleWeightParams(decay=0.5))
    assert weights.mean() == pytest.approx(1.0)
