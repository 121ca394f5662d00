"""Fit weights for overlapping labels: average uniqueness and time decay (López de Prado).

A label at t is decided by the sessions t .. ``end_date`` (``engine.modeling.labels``), so
labels of neighbouring dates share sessions and are not independent observations. López
de Prado (Advances in Financial Machine Learning, ch. 4) weights each one by its
*average uniqueness*: the mean over its life of 1 / concurrency, where the concurrency of
a session is the number of labels alive on it. A panel has one label per ticker and date,
so a 5-session label on a 100-ticker panel has concurrency about 500 and uniqueness about
1/500: only the relative weights matter, and the combined weights are normalized to mean 1.

*Time decay* weights recent evidence more: a piecewise-linear function of the cumulative
uniqueness (oldest first), 1 for the newest rows, with parameter ``decay`` (his ``c``) in
(-1, 1]: 1 is no decay, 0 decays linearly towards 0 at the oldest row, and below 0 the
oldest fraction ``-decay`` of the cumulative uniqueness gets weight 0.

Weights are computed on the rows a model is fitted on and nothing else: the weight of a row
depends on the labels that share its sessions, so weights computed on a whole panel and then
sliced to a training window would let rows after the window (whose labels start inside
it) change the fit. ``sample_weights(..., through=...)`` refuses labels whose outcome is
after the fit window. The result is what ``fit(X, y, sample_weight=...)`` takes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.modeling.param_limits import Limit, check_limits

WEIGHT_LIMITS = {"decay": Limit(-1, 1, open_low=True)}


@dataclass(frozen=True)
class SampleWeightParams:
    """How fit weights are made.

    ``uniqueness``: weight each label by its average uniqueness (else 1 each). ``decay``:
    López de Prado's ``c`` in (-1, 1], the weight of the oldest evidence relative to the
    newest (1: no decay; below 0: the oldest fraction ``-decay`` gets weight 0).
    """

    uniqueness: bool = True
    decay: float = 1.0

    def __post_init__(self) -> None:
        check_limits(self, WEIGHT_LIMITS, "sample weight settings")


def _dates(values) -> np.ndarray:
    return np.asarray(pd.to_datetime(np.asarray(values).ravel()), dtype="datetime64[ns]")


def _label_spans(dates, ends) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sessions and, per row, whether its outcome is known and its first and last session.

    The calendar is the sorted union of the rows' dates and their label end dates.
    """
    starts, stops = _dates(dates), _dates(ends)
    if starts.shape != stops.shape:
        raise ValueError(f"{len(starts)} dates but {len(stops)} label end dates")
    known = ~np.isnat(starts) & ~np.isnat(stops)
    if np.any(stops[known] < starts[known]):
        raise ValueError("a label cannot end before its own date")
    sessions = np.unique(np.concatenate([starts[known], stops[known]]))
    first = np.searchsorted(sessions, starts)
    last = np.searchsorted(sessions, stops)
    return sessions, known, first, last


def label_concurrency(dates, ends) -> pd.Series:
    """The number of labels alive on each session.

    Parameters
    ----------
    dates, ends : array-like of datetime64, shape (n,)
        Each row's date and its label's ``end_date``. A label is alive on the sessions
        ``date .. end_date``, both included (as the splitters purge). Rows with an unknown
        outcome (NaT end) are left out.

    Returns
    -------
    Series of shape (T,)
        Concurrency indexed by session: the sorted union of the known rows' dates and
        end dates (the calendar the rows trade on).
    """
    sessions, known, first, last = _label_spans(dates, ends)
    return pd.Series(_concurrency(len(sessions), first[known], last[known]), index=sessions)


def _concurrency(n_sessions: int, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Labels alive per session: +1 where each starts, -1 after each ends, summed."""
    steps = np.bincount(first, minlength=n_sessions + 1) - np.bincount(
        last + 1, minlength=n_sessions + 1
    )
    return np.cumsum(steps)[:n_sessions]


def average_uniqueness(dates, ends) -> np.ndarray:
    """Each label's mean of 1 / concurrency over its sessions ``date .. end_date``.

    Parameters
    ----------
    dates, ends : array-like of datetime64, shape (n,)
        As in ``label_concurrency``; only these rows count towards concurrency.

    Returns
    -------
    ndarray of shape (n,)
        In (0, 1]: 1 for a label that shares no session; NaN where the outcome is unknown.
    """
    sessions, known, first, last = _label_spans(dates, ends)
    inverse = 1.0 / np.maximum(_concurrency(len(sessions), first[known], last[known]), 1)
    running = np.concatenate([[0.0], np.cumsum(inverse)])
    out = np.full(len(known), np.nan)
    f, la = first[known], last[known]
    out[known] = (running[la + 1] - running[f]) / (la - f + 1)
    return out


def time_decay(uniqueness: np.ndarray, dates, decay: float = 1.0) -> np.ndarray:
    """López de Prado's piecewise-linear decay on cumulative uniqueness, oldest first.

    ``w = max(0, a + b * x)`` with ``x`` the cumulative uniqueness through the row's date
    (every row of a date shares its weight), ``w = 1`` at the newest date, and at ``x = 0``
    ``w = decay`` when ``decay >= 0``; for ``decay < 0``, ``w`` reaches 0 at ``x = -decay
    * total``.

    Parameters
    ----------
    uniqueness : ndarray of shape (n,)
        ``average_uniqueness`` of the rows (NaN rows get NaN and add nothing).
    dates : array-like of datetime64, shape (n,)
    decay : float
        ``c`` in (-1, 1].

    Returns
    -------
    ndarray of shape (n,)
        In [0, 1].
    """
    SampleWeightParams(decay=decay)  # validates
    uniqueness = np.asarray(uniqueness, dtype=float)
    per_date = pd.Series(np.nan_to_num(uniqueness), index=_dates(dates)).groupby(level=0).sum()
    cumulative = per_date.cumsum()
    total = float(cumulative.iloc[-1]) if len(cumulative) else 0.0
    if total <= 0:
        return np.where(np.isfinite(uniqueness), 1.0, np.nan)
    slope = (1.0 - decay) / total if decay >= 0 else 1.0 / ((decay + 1.0) * total)
    weight = np.maximum(0.0, 1.0 - slope * total + slope * cumulative)
    out = weight.reindex(_dates(dates)).to_numpy()
    return np.where(np.isfinite(uniqueness), out, np.nan)


def sample_weights(
    dates,
    ends,
    params: SampleWeightParams | None = None,
    *,
    through: np.datetime64 | pd.Timestamp | None = None,
) -> np.ndarray:
    """Fit weights of the rows a model is fitted on: uniqueness x decay, mean 1.

    Parameters
    ----------
    dates, ends : array-like of datetime64, shape (n,)
        The training rows' dates and label end dates, and no other rows: a row's weight
        depends on every label passed here, so pass the fit window's rows only.
    params : SampleWeightParams, optional
        Defaults to average uniqueness without decay.
    through : datetime64, optional
        The last session whose outcome the fit may know (the fit window's end); a label
        ending after it raises ``ValueError`` instead of leaking into the weights.

    Returns
    -------
    ndarray of shape (n,)
        Non-negative weights with mean 1 over the known rows, for ``fit(X, y,
        sample_weight=...)``; NaN where the outcome is unknown (such rows cannot be fitted).
    """
    params = params or SampleWeightParams()
    ends = _dates(ends)
    if through is not None and np.any(ends[~np.isnat(ends)] > np.datetime64(through, "ns")):
        raise ValueError(f"a label ends after the fit window's last session {through}")
    uniqueness = average_uniqueness(dates, ends)
    weights = uniqueness if params.uniqueness else np.where(np.isfinite(uniqueness), 1.0, np.nan)
    if params.decay != 1.0:
        weights = weights * time_decay(uniqueness, dates, params.decay)
    mean = np.nanmean(weights) if np.isfinite(weights).any() else np.nan
    return weights / mean if mean > 0 else weights
