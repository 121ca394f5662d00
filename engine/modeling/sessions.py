"""A training window cut by time: consecutive, purged date slices (fit, early stopping,
calibration) and the label horizon counted in the window's own sessions."""

from __future__ import annotations

from itertools import pairwise

import numpy as np


def time_slices(
    dates: np.ndarray, ends: np.ndarray, fractions: tuple[float, ...]
) -> list[np.ndarray]:
    """Row positions of consecutive date slices: the first takes what the trailing ones,
    sized by ``fractions`` of the sessions, leave. Each slice but the last is purged of
    rows whose label ends on or after the next slice's first date.
    """
    sessions = np.unique(dates)
    sizes = [max(1, round(f * len(sessions))) for f in fractions]
    starts = [len(sessions) - sum(sizes[i:]) for i in range(len(sizes))]
    if starts[0] < 1:
        raise ValueError("too few dates to cut the training window into its slices")
    bounds = [sessions[0], *sessions[starts], sessions[-1] + np.timedelta64(1, "D")]
    slices = []
    for k, (lo, hi) in enumerate(pairwise(bounds)):
        rows = (dates >= lo) & (dates < hi)
        if k < len(bounds) - 2:
            rows &= ends < hi
        slices.append(np.flatnonzero(rows))
    return slices


def label_sessions(dates: np.ndarray, ends: np.ndarray) -> int:
    """The label horizon in sessions: the median number of ``dates``' sessions from a row's
    date to its outcome's end date, over rows whose end date is one of those sessions."""
    sessions = np.unique(dates)
    start = np.searchsorted(sessions, dates)
    end = np.searchsorted(sessions, ends)
    inside = (end < len(sessions)) & (sessions[np.minimum(end, len(sessions) - 1)] == ends)
    return max(1, int(np.median(end[inside] - start[inside]))) if inside.any() else 1
