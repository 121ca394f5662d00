"""Splits are by date, purged by label end date, embargoed; test windows never leak back."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from engine.data.synthetic import make_panel
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.model_selection import CombinatorialPurgedCV, PurgedWalkForward


@pytest.fixture(scope="module")
def labelled() -> pd.DataFrame:
    prices = make_panel(5, 1000, seed=31).prices
    labels = compute_labels(prices, LabelParams(kind="triple_barrier", horizon=10))
    return labels.dropna(subset=["label"])


def leaks(train_dates, train_ends, test_dates) -> int:
    """Training rows whose label interval [date, end] meets a test date."""
    test = np.unique(test_dates)
    count = 0
    for date, end in zip(train_dates, train_ends, strict=True):
        i = np.searchsorted(test, date)
        if i < len(test) and test[i] <= end:
            count += 1
    return count


def check_fold(labelled, train, test) -> tuple[int, set]:
    dates = labelled.index.get_level_values("date").to_numpy()
    ends = labelled["end_date"].to_numpy()
    shared = set(dates[train]) & set(dates[test])
    return leaks(dates[train], ends[train], dates[test]), shared


def test_walk_forward_purges_labels_that_reach_the_test_window(labelled) -> None:
    cv = PurgedWalkForward(train_months=12, test_months=3, embargo=5)
    folds = list(cv.split(labelled, groups=labelled["end_date"]))
    assert len(folds) == cv.get_n_splits(labelled) >= 8
    dates = labelled.index.get_level_values("date").to_numpy()
    for train, test in folds:
        leaked, shared = check_fold(labelled, train, test)
        assert leaked == 0 and shared == set()
        assert labelled["end_date"].to_numpy()[train].max() < dates[test].min()
        # whole dates only: every row of a test date is in the test set
        assert len(test) == np.isin(dates, np.unique(dates[test])).sum()
    purged_away = sum(len(t) for t, _ in cv.split(labelled)) - sum(len(t) for t, _ in folds)
    assert purged_away > 0


def test_without_end_dates_the_same_check_finds_leaks(labelled) -> None:
    cv = PurgedWalkForward(train_months=12, test_months=3)
    assert sum(check_fold(labelled, tr, te)[0] for tr, te in cv.split(labelled)) > 0


def test_rolling_and_expanding_windows(labelled) -> None:
    dates = labelled.index.get_level_values("date")
    rolling = list(PurgedWalkForward(12, 3).split(labelled, groups=labelled["end_date"]))
    expanding = list(
        PurgedWalkForward(12, 3, expanding=True).split(labelled, groups=labelled["end_date"])
    )
    assert dates[rolling[-1][0]].min() > dates.min() + pd.DateOffset(months=12)
    assert dates[expanding[-1][0]].min() == dates.min()
    # consecutive test windows tile the dates after the first training window
    starts = [dates[test].min() for _, test in rolling]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert dates[rolling[-1][1]].max() == dates.max()  # the last, partial window is kept


def test_combinatorial_cv_purges_and_embargoes_every_test_group(labelled) -> None:
    cv = CombinatorialPurgedCV(n_groups=6, n_test_groups=2, embargo=5)
    folds = list(cv.split(labelled, groups=labelled["end_date"]))
    assert len(folds) == cv.get_n_splits() == 15
    dates = labelled.index.get_level_values("date").to_numpy()
    sessions = np.unique(dates)
    tested = pd.Series(0, index=sessions)
    for train, test in folds:
        leaked, shared = check_fold(labelled, train, test)
        assert leaked == 0 and shared == set()
        tested[np.unique(dates[test])] += 1
        for block_end in _block_ends(np.unique(dates[test]), sessions):
            after = sessions[sessions > block_end][:5]
            assert not np.isin(dates[train], after).any()
    assert (tested == 5).all()  # each date is tested in C(5, 1) of the 15 splits


def _block_ends(test_sessions, sessions) -> list:
    positions = np.searchsorted(sessions, test_sessions)
    return [
        test_sessions[i]
        for i in range(len(positions))
        if i == len(positions) - 1 or positions[i + 1] != positions[i] + 1
    ]


def test_bad_inputs_are_named(labelled) -> None:
    with pytest.raises(ValueError, match="indexed by \\(ticker, date\\)"):
        next(PurgedWalkForward().split(np.zeros((10, 2))))
    with pytest.raises(ValueError, match="end dates"):
        next(PurgedWalkForward().split(labelled, groups=labelled["end_date"].iloc[:-1]))
    with pytest.raises(ValueError, match="n_test_groups"):
        next(CombinatorialPurgedCV(n_groups=3, n_test_groups=3).split(labelled))
    assert (
        list(itertools.islice(PurgedWalkForward(min_train_dates=10_000).split(labelled), 1)) == []
    )
