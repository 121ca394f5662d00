"""The interval policy and the bootstrap every reported score's interval comes from.

The resampling is arch's (``arch.bootstrap``); this module only says what is resampled:

- a time series of daily values (strategy returns, daily ICs) keeps its order and its
  serial dependence: arch's ``MovingBlockBootstrap``, overlapping blocks of ``block``
  consecutive rows drawn with replacement (chosen over the stationary bootstrap so that
  ``block`` stays a fixed, stated length);
- a cross-sectional metric over rows that share a date (AUC, accuracy, ECE, Brier,
  log-loss) resamples whole dates, since rows of one date share the market's move
  and resampling rows would pretend to more independent evidence than the data holds;
  with ``block`` as well, moving blocks of that many consecutive dates (labels over
  overlapping horizons and a model held fixed for a fold tie neighbouring dates too).
  arch has no cluster bootstrap, but this is exactly its ``IIDBootstrap`` applied to the
  index of the unique dates: arch draws the dates (and owns the seed), and the
  statistic sees all rows of each drawn date (``MovingBlockBootstrap`` likewise on the
  sorted dates). That keeps one resampler for every
  interval instead of a hand-rolled group sampler beside arch's.

The interval is the percentile interval, as arch's ``conf_int(func, reps,
method="percentile")`` computes it, except that replicates on which the statistic is
undefined (a replicate with one class only raises ``ValueError``, or a non-finite value)
are skipped instead of failing the whole interval.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

# Block length (sessions) of the intervals of per-date series (ICs, quantile spreads): not
# only do overlapping label horizons tie neighbouring dates, one model is held fixed over
# a whole test window, so its tilts (and their luck) persist for weeks. On null panels
# driven by a common market, 5-date blocks gave intervals excluding 0 on 2 of 5 seeds;
# per-fold mean ICs spread about 1.4 times wider than 5-date blocks allow.
IC_BLOCK = 21
# The interval policy, in one place: moving blocks of ic_block(horizon) sessions, N_BOOT
# replicates, 95%; every int block / n_boot default is these (a None block: dates iid, and
# every app caller passes ic_block). On purpose apart: the paper gate's SHARPE_BLOCK (5),
# as its live evidence starts at 20 returns, under one 21-session block.
N_BOOT = 300


def ic_block(horizon: int) -> int:
    """The moving-block length for per-date series of a ``horizon``-session label:
    the label's horizon, at least ``IC_BLOCK`` sessions."""
    return max(int(horizon), IC_BLOCK)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided bootstrap interval at ``level``."""

    estimate: float
    low: float
    high: float
    level: float = 0.95

    def contains(self, value: float) -> bool:
        return bool(self.low <= value <= self.high)

    def above(self, value: float) -> bool:
        """True only when the whole interval lies above ``value`` (False without bounds)."""
        return bool(self.low > value)

    def as_dict(self) -> dict[str, float]:
        return {"estimate": self.estimate, "low": self.low, "high": self.high}


def wilson_interval(successes: float, n: int, level: float = 0.95) -> Interval:
    """A proportion ``successes / n`` with its Wilson score interval (closed form: no
    resampling), for ``n`` independent trials; NaN throughout when ``n`` is 0."""
    if n <= 0:
        return Interval(np.nan, np.nan, np.nan, level)
    rate = successes / n
    z = stats.norm.ppf(0.5 + level / 2)
    centre = (rate + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * np.sqrt(rate * (1 - rate) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return Interval(float(rate), float(centre - half), float(centre + half), level)


def _group_layout(
    groups: np.ndarray, *, ordered: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows ordered by group (groups in order of first appearance, sorted by value when
    ``ordered``), and each group's start in that order and size: group g's rows are
    ``order[starts[g]:starts[g] + sizes[g]]``."""
    codes, _ = pd.factorize(np.asarray(groups), sort=ordered)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes)
    return order, np.cumsum(sizes) - sizes, sizes


def _rows_of(drawn: np.ndarray, layout: tuple[np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """The rows of the groups ``drawn``, group after group (one vectorized gather, the same
    rows in the same order as concatenating each drawn group's rows)."""
    order, starts, sizes = layout
    lengths = sizes[drawn]
    offsets = np.repeat(starts[drawn] - (np.cumsum(lengths) - lengths), lengths)
    return order[offsets + np.arange(lengths.sum())]


def _defined(statistic: Callable[..., float]) -> Callable[..., float]:
    """``statistic`` returning NaN where it is undefined (it raised ``ValueError``)."""

    def value(*arrays: np.ndarray) -> float:
        try:
            return float(statistic(*arrays))
        except ValueError:  # e.g. a replicate with one class only
            return np.nan

    return value


def bootstrap_interval(
    statistic: Callable[..., float],
    *arrays: np.ndarray,
    groups: np.ndarray | None = None,
    block: int | None = None,
    n_boot: int = N_BOOT,
    level: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval of ``statistic(*arrays)``, resampled by arch.

    Parameters
    ----------
    statistic : callable
        ``statistic(*arrays) -> float``. It may raise ``ValueError`` or return a
        non-finite value on a replicate where it is undefined: that replicate is skipped.
    *arrays : ndarray of shape (n,) or (n, k)
        Row-aligned inputs of ``statistic``.
    groups : ndarray of shape (n,), optional
        Resample whole groups (dates) iid: arch's ``IIDBootstrap`` over the unique
        groups; each replicate keeps every row of each drawn group.
    block : int, optional
        The rows are a time series in order: arch's ``MovingBlockBootstrap`` with
        blocks of ``block`` consecutive rows (at most n). With ``groups``: blocks of
        ``block`` consecutive groups in sorted order (dates), each with all its rows.
    n_boot : int
        Bootstrap replicates.
    level : float
        Two-sided coverage of the interval.
    seed : int
        Seed of arch's generator (``np.random.default_rng(seed)``).

    Returns
    -------
    Interval
        The full-sample estimate and the percentile bounds of the defined replicates
        (NaN bounds when none is defined). Without ``groups`` or ``block`` the rows are
        resampled iid.
    """
    from arch.bootstrap import IIDBootstrap, MovingBlockBootstrap  # noqa: PLC0415 - slow import

    arrays = tuple(np.asarray(a) for a in arrays)
    estimate = float(statistic(*arrays))
    n = len(arrays[0])
    defined = _defined(statistic)
    if groups is None:
        units = np.arange(n)

        def replicate(rows: np.ndarray) -> float:
            return defined(*(a[rows] for a in arrays))

    else:
        layout = _group_layout(groups, ordered=block is not None)
        units = np.arange(len(layout[2]))

        def replicate(drawn: np.ndarray) -> float:
            return defined(*(a[_rows_of(drawn, layout)] for a in arrays))

    if block is None:
        resampler = IIDBootstrap(units, seed=seed)
    else:
        resampler = MovingBlockBootstrap(max(1, min(block, len(units))), units, seed=seed)
    values = resampler.apply(replicate, n_boot)[:, 0]
    values = values[np.isfinite(values)]
    if not len(values):
        return Interval(estimate, np.nan, np.nan, level)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return Interval(estimate, float(low), float(high), level)


def fold_interval(deltas: np.ndarray, level: float = 0.95) -> Interval:
    """Mean of per-fold values (a metric's fold mean, or a delta between two variants)
    with a Student-t interval: folds are the independent units (each has its own fitted
    model, whose tilts and their luck last the whole fold), and there are few of them, so
    t, not normal."""
    deltas = deltas[np.isfinite(deltas)]
    if len(deltas) < 2:
        return Interval(float(np.mean(deltas)) if len(deltas) else np.nan, np.nan, np.nan, level)
    mean = float(np.mean(deltas))
    half = (
        stats.t.ppf(0.5 + level / 2, len(deltas) - 1)
        * np.std(deltas, ddof=1)
        / np.sqrt(len(deltas))
    )
    return Interval(mean, mean - half, mean + half, level)


def over_folds(
    values: pd.Series, folds: pd.Series, level: float = 0.95, scale: float = 1.0
) -> Interval:
    """The mean of ``values``' per-fold means (``folds`` names each value's walk-forward
    fold, aligned by index; a value without a fold is left out) times ``scale``, with
    ``fold_interval``'s Student-t interval over folds."""
    folds = folds.reindex(values.index)
    known = folds.notna().to_numpy() & np.isfinite(values.to_numpy(dtype=float))
    means = values[known].groupby(folds[known].to_numpy()).mean().to_numpy(dtype=float)
    return fold_interval(means * scale, level)
