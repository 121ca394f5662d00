"""Retraining policies: when the champion is retrained, and on which window.

A policy retrains on a schedule (weekly, monthly or quarterly: the first session of each
period; ``static`` never), and may also retrain when the drift monitor recommends it or
when the live record's rank IC falls below the backtest's interval. Each retrain fits on
the ``window_months`` before the retrain session, using only rows whose outcome is known
by that session's close.

``ScheduledRetrain`` is the schedule as a splitter for ``walk_forward``: the record a
policy would have produced over history (Qlib's rolling strategy in simulation mode),
each retrain session training a model that forecasts until the next one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from engine.modeling.model_selection import Split, label_end_dates, row_dates

# cadence -> the pandas period whose first session is a retrain session (None: never)
CADENCES = {"static": None, "weekly": "W-SUN", "monthly": "M", "quarterly": "Q"}
WINDOW_MONTHS = (6, 60)  # bounds of the training window
MIN_TRAIN_SESSIONS = 120  # a retrain with fewer training sessions keeps the model it has


@dataclass(frozen=True)
class RetrainPolicy:
    """When to retrain: on ``cadence`` (``CADENCES``), on drift, on live performance."""

    cadence: str = "monthly"
    window_months: int = 18
    on_drift: bool = False
    on_performance: bool = False

    def __post_init__(self) -> None:
        if self.cadence not in CADENCES:
            raise ValueError(
                f"cadence must be one of {', '.join(CADENCES)} (got {self.cadence!r:.40})"
            )
        low, high = WINDOW_MONTHS
        if not isinstance(self.window_months, int) or not low <= self.window_months <= high:
            raise ValueError(
                f"window_months must be a whole number from {low} to {high} "
                f"(got {self.window_months!r:.40})"
            )
        for name in ("on_drift", "on_performance"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false")

    def describe(self) -> str:
        schedule = "never on a schedule" if self.cadence == "static" else self.cadence
        triggers = [
            name
            for name, on in (
                ("on drift", self.on_drift),
                ("on live performance", self.on_performance),
            )
            if on
        ]
        when = ", ".join([schedule, *triggers])
        return f"{when}; {self.window_months}-month window"

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> RetrainPolicy:
        known = {k: values[k] for k in ("cadence", "window_months", "on_drift", "on_performance")}
        return cls(**known)


def retrain_sessions(
    sessions: pd.DatetimeIndex, start: pd.Timestamp, cadence: str
) -> pd.DatetimeIndex:
    """The retrain sessions among ``sessions`` from ``start`` on: ``start``'s session, then
    the first session of each later period of ``cadence`` (static: ``start``'s alone)."""
    if cadence not in CADENCES:
        raise ValueError(f"unknown cadence {cadence!r:.40}")
    later = pd.DatetimeIndex(sessions)[pd.DatetimeIndex(sessions) >= pd.Timestamp(start)]
    if later.empty:
        raise ValueError(f"no session on or after {pd.Timestamp(start):%Y-%m-%d}")
    period = CADENCES[cadence]
    if period is None:
        return later[:1]
    labels = later.to_period(period)
    first = np.r_[True, labels[1:] != labels[:-1]]
    return later[first]


def schedule_due(cadence: str, last_trained: pd.Timestamp | None, day: pd.Timestamp) -> bool:
    """Whether a retrain session of ``cadence`` fell after ``last_trained`` and by ``day``:
    ``day`` lies in a later period than the last training (always, with none)."""
    period = CADENCES[cadence]
    if last_trained is None:
        return True
    if period is None:
        return False
    return pd.Timestamp(day).to_period(period) > pd.Timestamp(last_trained).to_period(period)


def retrain_reasons(
    policy: RetrainPolicy,
    day: pd.Timestamp,
    last_trained: pd.Timestamp | None,
    *,
    drift: tuple[str, ...] = (),
    live_standing: str = "unjudged",
) -> list[str]:
    """Why ``policy`` retrains at ``day`` (empty: it does not): the schedule, the drift
    monitor's reasons (``on_drift``), the live rank IC below the backtest's interval
    (``on_performance``; ``live_standing`` is ``engine.studies.live.LiveReport.standing``)."""
    reasons = []
    if schedule_due(policy.cadence, last_trained, day):
        shown = "no training yet" if last_trained is None else f"last {last_trained:%Y-%m-%d}"
        reasons.append(f"{policy.cadence} schedule ({shown})")
    if policy.on_drift and drift:
        reasons.append("drift: " + "; ".join(drift))
    if policy.on_performance and live_standing == "below":
        reasons.append("live rank IC below the backtest's interval")
    return reasons


class ScheduledRetrain(BaseCrossValidator):
    """A retraining schedule as walk-forward folds.

    Each retrain session (``retrain_sessions``) trains on the rows dated in the
    ``window_months`` before it whose outcome (``groups``: the label end dates) is known
    before it (the purge convention of ``engine.modeling.model_selection``), and is tested
    on the rows from it to the next retrain session. A retrain session whose window holds
    fewer than ``min_train_sessions`` sessions is not one: the model before it keeps
    forecasting (ValueError when the first has too few).
    """

    def __init__(
        self,
        start: pd.Timestamp,
        cadence: str = "monthly",
        window_months: int = 18,
        min_train_sessions: int = MIN_TRAIN_SESSIONS,
    ) -> None:
        self.start = pd.Timestamp(start)
        self.cadence = cadence
        self.window_months = window_months
        self.min_train_sessions = min_train_sessions

    def _folds(self, dates: np.ndarray, ends: np.ndarray) -> list[Split]:
        sessions = pd.DatetimeIndex(np.unique(dates))
        folds: list[tuple[np.ndarray, pd.Timestamp]] = []
        for day in retrain_sessions(sessions, self.start, self.cadence):
            since = (day - pd.DateOffset(months=self.window_months)).to_datetime64()
            train = np.flatnonzero(
                (dates >= since) & (dates < day.to_datetime64()) & (ends < day.to_datetime64())
            )
            if len(np.unique(dates[train])) >= self.min_train_sessions:
                folds.append((train, day))
            elif not folds:
                raise ValueError(
                    f"the first retrain session, {day:%Y-%m-%d}, has fewer than "
                    f"{self.min_train_sessions} sessions of known outcomes in its "
                    f"{self.window_months}-month window: start the simulation later"
                )
        splits = []
        for number, (train, day) in enumerate(folds):
            after = folds[number + 1][1].to_datetime64() if number + 1 < len(folds) else None
            test = dates >= day.to_datetime64()
            if after is not None:
                test &= dates < after
            splits.append((train, np.flatnonzero(test)))
        return splits

    def split(self, X, y=None, groups=None) -> Iterator[Split]:
        dates = row_dates(X)
        yield from self._folds(dates, label_end_dates(groups, dates))

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        if X is None:
            raise ValueError("the number of retrains depends on X's dates")
        dates = row_dates(X)
        return len(self._folds(dates, label_end_dates(groups, dates)))
