"""Several label horizons: labels side by side, a score's IC decay, and a fused score.

A model trained on 5-session labels may rank the next session, or the next month, better
or worse than the week it learned. ``labels_by_horizon`` lays the relative labels of
several horizons side by side; ``compute_ic_decay`` measures one score's per-date rank IC
against the forward return of each horizon 1..20; ``fuse_horizons`` combines the
out-of-sample scores of models trained on different horizons (rank average, or a layer
stacked on earlier folds: ``engine.modeling.ensembles``).

What each value may look at: a score at t is known at t; the forward return over h
sessions from t uses the closes at t and t + h only (``relative_labels``), and is NaN
where t + h is not in the prices given.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from engine.metrics import N_BOOT, Interval, daily_ic, ic_block, ic_summary
from engine.modeling.ensembles import (
    StackedScores,
    compute_stacked_score,
    member_scores,
    rank_average,
)
from engine.modeling.labels import relative_labels

DECAY_HORIZONS = tuple(range(1, 21))
SIDE_BY_SIDE_HORIZONS = (1, 5, 20)
FUSION_METHODS = ("rank_average", "stacked")


def labels_by_horizon(
    prices: pd.DataFrame,
    horizons: Iterable[int] = SIDE_BY_SIDE_HORIZONS,
    membership: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The relative labels of several horizons side by side.

    Parameters
    ----------
    prices : DataFrame
        Long price rows (ticker, date, open, high, low, close, volume).
    horizons : iterable of int
        Horizons in sessions.
    membership : DataFrame, optional
        The universe's spells (``relative_labels``).

    Returns
    -------
    DataFrame of shape (n, 4 * len(horizons)), indexed by (ticker, date)
        ``label_{h}`` (beats the median), ``ret_{h}`` (forward return), ``target_{h}``
        (per-date rank in (-0.5, 0.5)) and ``end_date_{h}`` for each h; NaN (NaT) where
        the outcome is unknown.
    """
    parts = []
    for horizon in horizons:
        labels = relative_labels(prices, horizon, membership=membership)
        columns = ["label", "ret", "target", "end_date"]
        parts.append(labels[columns].rename(columns={c: f"{c}_{horizon}" for c in columns}))
    return pd.concat(parts, axis=1)


@dataclass(frozen=True)
class HorizonIC:
    """One score's mean per-date rank IC against the ``horizon``-session forward return
    (moving-block interval of ``ic_block(horizon)`` dates), its ICIR and its dates."""

    horizon: int
    rank_ic: Interval
    icir: float
    dates: int


@dataclass(frozen=True)
class ICDecay:
    """A score's rank IC over horizons (``compute_ic_decay``)."""

    points: tuple[HorizonIC, ...]

    @property
    def peak_horizon(self) -> int:
        """The horizon with the highest mean rank IC."""
        best = max(self.points, key=lambda p: np.nan_to_num(p.rank_ic.estimate, nan=-np.inf))
        return best.horizon

    def as_frame(self) -> pd.DataFrame:
        """One row per horizon: horizon, rank_ic, low, high, icir, dates."""
        return pd.DataFrame(
            [
                {"horizon": p.horizon, **p.rank_ic.as_dict(), "icir": p.icir, "dates": p.dates}
                for p in self.points
            ]
        ).rename(columns={"estimate": "rank_ic"})


def compute_ic_decay(
    score: pd.Series,
    prices: pd.DataFrame,
    *,
    horizons: Iterable[int] = DECAY_HORIZONS,
    membership: pd.DataFrame | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> ICDecay:
    """The IC decay of one model's score over forward-return horizons.

    Parameters
    ----------
    score : Series of shape (n,), indexed by (ticker, date)
        An out-of-sample score (``WalkForwardResult.predictions["score"]``).
    prices : DataFrame
        The prices the forward returns come from (rows dated after a score's date up to
        its horizon's end are read; nothing later).
    horizons : iterable of int
        Horizons in sessions, 1..20 by default.
    membership : DataFrame, optional
        The universe's spells: a row outside it has no forward return.
    n_boot, seed
        Bootstrap replicates and seed of the intervals.

    Returns
    -------
    ICDecay
        One ``HorizonIC`` per horizon, in the order given.
    """
    horizons = tuple(horizons)
    forward = labels_by_horizon(prices, horizons, membership).reindex(score.index)
    dates = score.index.get_level_values("date").to_numpy()
    values = score.to_numpy(dtype=float)
    points = []
    for horizon in horizons:
        ic = daily_ic(dates, values, forward[f"ret_{horizon}"].to_numpy(dtype=float))
        summary = ic_summary(ic["rank_ic"], block=ic_block(horizon), n_boot=n_boot, seed=seed)
        points.append(HorizonIC(horizon, summary["mean"], summary["icir"], summary["days"]))
    return ICDecay(tuple(points))


@dataclass(frozen=True)
class HorizonFusion:
    """A score fused from models of several horizons.

    Attributes
    ----------
    score : Series of shape (n,), indexed by (ticker, date)
        The fused score (NaN where no horizon's model scored the row, or, stacked, on the
        folds without a layer).
    method : {"rank_average", "stacked"}
    horizons : tuple of int
    stacked : StackedScores or None
        The stacked layer's record (which folds each layer learned from, what it left out).
    """

    score: pd.Series
    method: str
    horizons: tuple[int, ...]
    stacked: StackedScores | None


def fuse_horizons(
    predictions: Mapping[int, pd.DataFrame],
    *,
    method: Literal["rank_average", "stacked"] = "rank_average",
    target_horizon: int | None = None,
    estimator: BaseEstimator | None = None,
    min_folds: int = 1,
) -> HorizonFusion:
    """Fuse the out-of-sample scores of models trained on different horizons.

    Parameters
    ----------
    predictions : mapping of horizon -> DataFrame indexed by (ticker, date)
        Each horizon's walk-forward out-of-sample frame, all on the same folds.
    method : {"rank_average", "stacked"}
        Rank average of the per-date ranks, or a layer fitted on earlier folds only.
    target_horizon : int, optional
        Stacked only: the horizon whose label (and label end dates, for the purge) the
        layer learns; the shortest horizon by default.
    estimator, min_folds
        The stacked layer (``StackedEnsemble``).
    """
    if method not in FUSION_METHODS:
        raise ValueError(f"fusion method must be one of {FUSION_METHODS}, got {method!r}")
    horizons = tuple(sorted(predictions))
    scores = member_scores({f"h{h}": predictions[h] for h in horizons})
    if method == "rank_average":
        return HorizonFusion(rank_average(scores).rename("fused"), method, horizons, None)
    target = horizons[0] if target_horizon is None else target_horizon
    if target not in predictions:
        raise ValueError(f"no predictions for the target horizon {target}")
    stacked = compute_stacked_score(
        scores, predictions[target], estimator=estimator, min_folds=min_folds
    )
    return HorizonFusion(stacked.score.rename("fused"), method, horizons, stacked)
