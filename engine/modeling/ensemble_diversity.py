"""How an ensemble's members differ, and what the ensemble adds over its best member.

Both are judged on out-of-sample scores (``engine.modeling.ensembles.member_scores``)
per date, and averaged over dates with the interval policy's moving blocks
(``engine.metrics.ic_block`` of the label horizon): the members' pairwise rank
correlation and disagreement, and the ensemble's rank IC minus its best member's.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.metrics import N_BOOT, Interval, daily_ic, ic_block, ic_summary
from engine.modeling.ensembles import per_date_ranks


@dataclass(frozen=True)
class PairDiversity:
    """How two members' rankings differ: the mean per-date Spearman correlation of their
    scores and the mean per-date share of names they put on different sides of the
    median (0 at the median counts as its own side), both with intervals over dates."""

    first: str
    second: str
    rank_correlation: Interval
    disagreement: Interval
    dates: int


@dataclass(frozen=True)
class DiversityResult:
    """The members' diversity (``compute_diversity``).

    Attributes
    ----------
    pairs : tuple of PairDiversity
        Every pair of members, m (m - 1) / 2 of them.
    disagreement : Interval
        Mean per-date share of rows, among rows every member scored, on which the members
        do not all put the name on the same side of the median.
    dates : int
        Dates with a disagreement share.
    """

    pairs: tuple[PairDiversity, ...]
    disagreement: Interval
    dates: int

    def as_frame(self) -> pd.DataFrame:
        """One row per pair: first, second, rank_correlation (+ _low, _high),
        disagreement (+ _low, _high), dates."""
        rows = []
        for pair in self.pairs:
            row = {"first": pair.first, "second": pair.second}
            for name in ("rank_correlation", "disagreement"):
                value = getattr(pair, name)
                row |= {name: value.estimate, f"{name}_low": value.low, f"{name}_high": value.high}
            rows.append(row | {"dates": pair.dates})
        return pd.DataFrame(rows)


def _mean_over_dates(values: pd.Series, block: int, n_boot: int, seed: int) -> Interval:
    """Mean of a per-date series with the interval policy's moving-block interval."""
    return ic_summary(values.sort_index(), block=block, n_boot=n_boot, seed=seed)["mean"]


def _share_by_date(flags: np.ndarray, dates: np.ndarray) -> pd.Series:
    return pd.Series(flags.astype(float), index=dates).groupby(level=0).mean()


def compute_diversity(
    scores: pd.DataFrame, *, horizon: int = 5, n_boot: int = N_BOOT, seed: int = 0
) -> DiversityResult:
    """Pairwise rank correlation and disagreement of the members' scores.

    Parameters
    ----------
    scores : DataFrame of shape (n, m), indexed by (ticker, date), m >= 2
        The members' out-of-sample scores (``member_scores``).
    horizon : int
        The label horizon; intervals resample moving blocks of ``ic_block(horizon)`` dates.
    n_boot, seed
        Bootstrap replicates and seed.
    """
    if scores.shape[1] < 2:
        raise ValueError("diversity needs at least two members")
    dates = scores.index.get_level_values("date").to_numpy()
    sides = np.sign(per_date_ranks(scores).to_numpy())
    scored = np.isfinite(sides)
    block = ic_block(horizon)
    pairs = []
    for (i, first), (j, second) in itertools.combinations(enumerate(scores.columns), 2):
        correlation = daily_ic(dates, scores[first].to_numpy(), scores[second].to_numpy())
        both = scored[:, i] & scored[:, j]
        differ = _share_by_date(sides[both, i] != sides[both, j], dates[both])
        pairs.append(
            PairDiversity(
                first=str(first),
                second=str(second),
                rank_correlation=_mean_over_dates(correlation["rank_ic"], block, n_boot, seed),
                disagreement=_mean_over_dates(differ, block, n_boot, seed),
                dates=len(correlation),
            )
        )
    every = scored.all(axis=1)
    split = _share_by_date((sides[every] != sides[every, :1]).any(axis=1), dates[every])
    return DiversityResult(tuple(pairs), _mean_over_dates(split, block, n_boot, seed), len(split))


@dataclass(frozen=True)
class EnsembleGain:
    """The ensemble's mean rank IC against the best member's, paired by date.

    The best member on fold k is the one with the highest mean rank IC on the earlier
    folds' dates whose outcomes were all known before fold k began: chosen as an analyst
    could have chosen it then. (Chosen after the fact, on the dates it is judged on, the
    best of several noise members beats a noise ensemble by luck, and the gain's interval
    excludes 0 on a null panel.) Fold 0, with nothing earlier, is left out.

    Attributes
    ----------
    ensemble_rank_ic, best_member_rank_ic : Interval
        Mean per-date rank IC of the ensemble and of each fold's chosen member, on the
        paired dates.
    gain : Interval
        Mean per-date difference, ensemble minus chosen member.
    best_member : str
        The member chosen for the last fold (the one to compare with going forward).
    best_member_by_fold : dict of int -> str
        The member chosen for each compared fold.
    dates : int
        Paired dates. Every interval is over dates (moving blocks).
    """

    ensemble_rank_ic: Interval
    best_member_rank_ic: Interval
    gain: Interval
    best_member: str
    best_member_by_fold: dict[int, str]
    dates: int


def compute_ensemble_gain(
    ensemble: pd.Series,
    scores: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    horizon: int = 5,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> EnsembleGain:
    """What the ensemble's ranking adds over the best member known at the time.

    Parameters
    ----------
    ensemble : Series of shape (n,), indexed by (ticker, date)
        The ensemble's score (``rank_average`` or ``StackedScores.score``; NaN rows are
        left out, so a stacked ensemble is judged on the folds it scored).
    scores : DataFrame of shape (n, m), indexed like ``ensemble``
        The members' scores.
    outcomes : DataFrame indexed by (ticker, date)
        ``ret`` (the forward return the label measures), ``fold`` and ``end_date``.
    horizon, n_boot, seed
        As ``compute_diversity``.
    """
    outcomes = outcomes.reindex(ensemble.index)
    dates = ensemble.index.get_level_values("date").to_numpy()
    realized = outcomes["ret"].to_numpy(dtype=float)
    members = scores.reindex(ensemble.index)
    ensemble_ic = daily_ic(dates, ensemble.to_numpy(dtype=float), realized)["rank_ic"]
    member_ic = pd.DataFrame(
        {
            str(name): daily_ic(dates, members[name].to_numpy(dtype=float), realized)["rank_ic"]
            for name in members.columns
        }
    ).sort_index()
    by_date = outcomes.groupby(level="date").agg(fold=("fold", "min"), known=("end_date", "max"))
    choices = {}
    for fold in np.unique(by_date["fold"].dropna()):
        start = by_date.index[by_date["fold"] == fold].min()
        earlier = by_date.index[(by_date["fold"] < fold) & (by_date["known"] < start)]
        history = member_ic.reindex(earlier).mean()
        if history.notna().any():
            choices[int(fold)] = str(history.idxmax())
    chosen = by_date["fold"].reindex(member_ic.index).map(choices)
    picked = chosen.notna().to_numpy()
    best_ic = pd.Series(np.nan, index=member_ic.index)
    best_ic[picked] = member_ic.to_numpy()[picked, member_ic.columns.get_indexer(chosen[picked])]
    paired = pd.DataFrame({"ensemble": ensemble_ic, "best": best_ic}).dropna()
    compared = set(by_date["fold"].reindex(paired.index).astype(int))
    choices = {fold: name for fold, name in choices.items() if fold in compared}
    block = ic_block(horizon)
    return EnsembleGain(
        ensemble_rank_ic=_mean_over_dates(paired["ensemble"], block, n_boot, seed),
        best_member_rank_ic=_mean_over_dates(paired["best"], block, n_boot, seed),
        gain=_mean_over_dates(paired["ensemble"] - paired["best"], block, n_boot, seed),
        best_member=choices[max(choices)] if choices else "",
        best_member_by_fold=choices,
        dates=len(paired),
    )
