"""Splitters that cut a (ticker, date) panel by date, with purge and embargo.

Rows are never split one by one: every row of a date lands on the same side. A training row
is purged when its label's outcome (``end_date``) reaches into a test window, and rows in
the ``embargo`` sessions after a test window are dropped from training (that matters when
training data follows a test window, as in the combinatorial CV).

``split(X, y=None, groups=None)`` follows scikit-learn: ``X`` is indexed by (ticker, date)
and ``groups`` carries each row's label end date (datetime64); without it every label is
taken to end on its own date (no purge).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pandas as pd
from skfolio.model_selection import WalkForward
from sklearn.model_selection import BaseCrossValidator

Split = tuple[np.ndarray, np.ndarray]


def row_dates(X) -> np.ndarray:
    index = X.index if isinstance(X, pd.DataFrame | pd.Series) else None
    if index is None or "date" not in (index.names or []):
        raise ValueError("X must be indexed by (ticker, date): splits are cut by date")
    return index.get_level_values("date").to_numpy(dtype="datetime64[ns]")


def label_end_dates(groups, dates: np.ndarray) -> np.ndarray:
    if groups is None:
        return dates
    ends = np.asarray(pd.to_datetime(groups), dtype="datetime64[ns]")
    if ends.shape != dates.shape:
        raise ValueError(f"groups (label end dates) has {len(ends)} rows, X has {len(dates)}")
    return np.where(np.isnat(ends), dates, ends)


def purge(
    train: np.ndarray,
    *,
    dates: np.ndarray,
    ends: np.ndarray,
    test_windows: list[tuple[np.datetime64, np.datetime64]],
    sessions: np.ndarray,
    embargo: int,
) -> np.ndarray:
    """Training rows left after purging overlaps with, and embargoing after, test windows.

    A row overlaps a window [start, stop] when its label interval [date, end] meets it.
    The embargo drops rows dated within ``embargo`` sessions after ``stop``.
    """
    keep = np.ones(len(train), dtype=bool)
    train_dates, row_ends = dates[train], ends[train]
    for start, stop in test_windows:
        keep &= ~((train_dates <= stop) & (row_ends >= start))
        if embargo:
            after = sessions[sessions > stop][:embargo]
            if len(after):
                keep &= ~((train_dates > stop) & (train_dates <= after[-1]))
    return train[keep]


class PurgedWalkForward(BaseCrossValidator):
    """Walk forward over calendar months: train on ``train_months``, test the next ``test_months``.

    Parameters
    ----------
    train_months, test_months : int
        Window lengths in calendar months (the seeds: 18 and 3).
    expanding : bool
        Train on everything before the test window instead of a rolling window.
    embargo : int
        Sessions after each test window that training may not use.
    min_train_dates : int
        Folds whose training window has fewer distinct dates are skipped.
    """

    def __init__(
        self,
        train_months: int = 18,
        test_months: int = 3,
        expanding: bool = False,
        embargo: int = 5,
        min_train_dates: int = 120,
    ) -> None:
        self.train_months = train_months
        self.test_months = test_months
        self.expanding = expanding
        self.embargo = embargo
        self.min_train_dates = min_train_dates

    def _date_folds(self, sessions: pd.DatetimeIndex) -> list[Split]:
        walk = WalkForward(
            test_size=self.test_months,
            train_size=self.train_months,
            freq="MS",
            expand_train=self.expanding,
            reduce_test=True,
        )
        frame = pd.DataFrame(index=sessions, data={"x": 0.0})
        return [
            (train, test)
            for train, test in walk.split(frame)
            if len(train) >= self.min_train_dates and len(test)
        ]

    def split(self, X, y=None, groups=None) -> Iterator[Split]:
        dates = row_dates(X)
        ends = label_end_dates(groups, dates)
        sessions = pd.DatetimeIndex(np.unique(dates))
        values = sessions.to_numpy()
        for train_dates, test_dates in self._date_folds(sessions):
            lo, hi = values[test_dates[0]], values[test_dates[-1]]
            train = np.flatnonzero(
                (dates >= values[train_dates[0]]) & (dates <= values[train_dates[-1]])
            )
            test = np.flatnonzero((dates >= lo) & (dates <= hi))
            yield (
                purge(
                    train,
                    dates=dates,
                    ends=ends,
                    test_windows=[(lo, hi)],
                    sessions=values,
                    embargo=self.embargo,
                ),
                test,
            )

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        if X is None:
            raise ValueError("the number of walk-forward folds depends on X's dates")
        return len(self._date_folds(pd.DatetimeIndex(np.unique(row_dates(X)))))


class CombinatorialPurgedCV(BaseCrossValidator):
    """Combinatorial purged CV (Lopez de Prado): dates cut into ``n_groups`` contiguous
    groups; every choice of ``n_test_groups`` of them is a test set, the rest trains,
    purged and embargoed around each test group.
    """

    def __init__(self, n_groups: int = 6, n_test_groups: int = 2, embargo: int = 5) -> None:
        self.n_groups = n_groups
        self.n_test_groups = n_test_groups
        self.embargo = embargo

    def split(self, X, y=None, groups=None) -> Iterator[Split]:
        if not 0 < self.n_test_groups < self.n_groups:
            raise ValueError("n_test_groups must be at least 1 and below n_groups")
        dates = row_dates(X)
        ends = label_end_dates(groups, dates)
        values = np.unique(dates)
        if len(values) < self.n_groups:
            raise ValueError(f"{len(values)} dates cannot form {self.n_groups} groups")
        bounds = [(g[0], g[-1]) for g in np.array_split(values, self.n_groups)]
        for chosen in itertools.combinations(range(self.n_groups), self.n_test_groups):
            windows = [bounds[i] for i in chosen]
            in_test = np.zeros(len(dates), dtype=bool)
            for lo, hi in windows:
                in_test |= (dates >= lo) & (dates <= hi)
            train = purge(
                np.flatnonzero(~in_test),
                dates=dates,
                ends=ends,
                test_windows=windows,
                sessions=values,
                embargo=self.embargo,
            )
            yield train, np.flatnonzero(in_test)

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return len(list(itertools.combinations(range(self.n_groups), self.n_test_groups)))
