"""Out-of-sample forecast scores: AUC, hit rate, per-date information coefficients
(Pearson and rank), and the classification metrics with their intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from engine.metrics._intervals import (
    IC_BLOCK,
    N_BOOT,
    Interval,
    bootstrap_interval,
    fold_interval,
    over_folds,
)


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count half), as roc_auc_score computes
    it, without its input checks: bootstraps call this hundreds of times."""
    y = np.asarray(y) == 1
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("AUC needs both outcomes")
    ranks = stats.rankdata(p)
    return float((ranks[y].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def fold_aucs(y: np.ndarray, ranking: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """The AUC of ``ranking`` within each fold, in fold order (NaN for a fold with one
    outcome only). Pooled over folds, an AUC also compares the folds' levels: a calibrated
    probability that is nearly constant within folds (shrunk to a base rate learnt from
    earlier outcomes) then scores below 0.5 on noise, 7 seeds of 7."""
    y, ranking, folds = np.asarray(y), np.asarray(ranking), np.asarray(folds)
    values = []
    for fold in np.unique(folds):
        rows = folds == fold
        both = 0 < int(np.sum(y[rows] == 1)) < int(rows.sum())
        values.append(auc(y[rows], ranking[rows]) if both else np.nan)
    return np.array(values, dtype=float)


def hit_rate(y: np.ndarray, p: np.ndarray) -> float:
    """Share of forecasts whose side was right: P(up) >= 0.5 where the outcome was up
    (``y == 1``), below 0.5 where it was not. The one hit rate (drift, scenarios, model
    evaluation, where classification reports call it accuracy).

    Parameters
    ----------
    y : ndarray of shape (n,)
        Outcomes, 1 for up.
    p : ndarray of shape (n,)
        Forecast P(up).
    """
    return float(np.mean((np.asarray(p) >= 0.5) == (np.asarray(y) == 1)))


def base_rate_accuracy(y: np.ndarray) -> float:
    """Accuracy of always predicting the more frequent class."""
    rate = float(np.mean(y))
    return max(rate, 1.0 - rate)


def rank_rows(values: np.ndarray) -> np.ndarray:
    """Average ranks (1 .. m, ties share their mean rank, as ``scipy.stats.rankdata``)
    along the last axis, among the finite entries of each row; non-finite entries get NaN.

    Parameters
    ----------
    values : ndarray of shape (..., n)

    Returns
    -------
    ndarray of shape (..., n)
        Vectorized over the leading axes: one argsort, no Python loop over rows.
    """
    x = np.asarray(values, dtype=float)
    shape = x.shape
    x = np.where(np.isfinite(x), x, np.inf).reshape(-1, shape[-1])  # missing sorts last
    rows, n = x.shape
    order = np.argsort(x, axis=-1)
    ordered = np.take_along_axis(x, order, axis=-1)
    new = np.ones(ordered.shape, dtype=bool)
    np.not_equal(ordered[:, 1:], ordered[:, :-1], out=new[:, 1:])
    new[:, 1:] |= ordered[:, 1:] == np.inf  # missing entries tie with nothing
    positions = np.arange(n)
    ranks = np.broadcast_to(positions + 1.0, ordered.shape).copy()
    tied = np.flatnonzero(~new.all(axis=1))
    if len(tied):  # a tie group spans first .. last: each member gets (first + last) / 2 + 1
        starts = new[tied]
        first = np.maximum.accumulate(np.where(starts, positions, 0), axis=-1)
        closes = np.ones(starts.shape, dtype=bool)
        closes[:, :-1] = starts[:, 1:]
        last = np.minimum.accumulate(np.where(closes, positions, n)[:, ::-1], axis=-1)[:, ::-1]
        ranks[tied] = (first + last) * 0.5 + 1.0
    out = np.empty(x.shape)
    out[np.arange(rows)[:, None], order] = ranks
    out[x == np.inf] = np.nan
    return out.reshape(shape)


def _row_correlation(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(m,) Pearson correlation of each row of (m, n) ``a`` and ``b`` over its ``valid``
    entries (the caller checks that each row has 3 or more and that both sides vary)."""
    count = valid.sum(axis=-1)[:, None]
    da = np.where(valid, a, 0.0)
    db = np.where(valid, b, 0.0)
    da = np.where(valid, da - da.sum(axis=-1, keepdims=True) / count, 0.0)
    db = np.where(valid, db - db.sum(axis=-1, keepdims=True) / count, 0.0)
    spread = np.sqrt((da * da).sum(axis=-1) * (db * db).sum(axis=-1))
    return np.clip((da * db).sum(axis=-1) / spread, -1.0, 1.0)


def _varies(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Whether the ``valid`` entries along the last axis take two or more values."""
    high = np.where(valid, values, -np.inf).max(axis=-1)
    return high > np.where(valid, values, np.inf).min(axis=-1)


def cross_sectional_ic(
    predictions: np.ndarray, realized: np.ndarray, *, pearson: bool = True
) -> dict[str, np.ndarray | None]:
    """Per date and signal, the Pearson IC and the Spearman rank IC across names: the one
    implementation of per-date IC (``daily_ic`` and the factor analysis call it).

    Parameters
    ----------
    predictions : ndarray of shape (D, K, N)
        K signals of N names on D dates; NaN where a name has no value.
    realized : ndarray of shape (D, N)
        The outcomes (forward returns) of the same names; NaN where unknown.
    pearson : bool
        Also compute the Pearson IC (skipped by callers that need the rank IC only).

    Returns
    -------
    dict
        ``rank_ic`` and ``ic`` (None unless ``pearson``) of shape (D, K), ``names`` of
        shape (D, K): the names with both values. Each signal's ranks and the outcome's
        ranks are taken among the names where both are finite; a (date, signal) with
        fewer than 3 such names or no dispersion on either side is NaN (and is never
        ranked: market-wide signals cost nothing).
    """
    x = np.asarray(predictions, dtype=float)
    y = np.asarray(realized, dtype=float)
    known = np.isfinite(y)
    valid = np.isfinite(x) & known[:, None, :]
    names = valid.sum(axis=-1)
    wide_y = np.broadcast_to(y[:, None, :], x.shape)
    use = (names >= 3) & _varies(x, valid) & _varies(wide_y, valid)  # (D, K)
    rank_ic = np.full(names.shape, np.nan)
    ic = np.full(names.shape, np.nan) if pearson else None
    if use.any():
        ok = valid[use]
        xs = np.where(ok, x[use], np.nan)
        rank_y = np.broadcast_to(rank_rows(y)[:, None, :], x.shape)[use]
        partial = (ok != np.broadcast_to(known[:, None, :], x.shape)[use]).any(axis=-1)
        if partial.any():  # the signal misses some names: rank the outcome among the rest
            rank_y[partial] = rank_rows(np.where(ok[partial], wide_y[use][partial], np.nan))
        rank_ic[use] = _row_correlation(rank_rows(xs), rank_y, ok)
        if pearson:
            ic[use] = _row_correlation(xs, wide_y[use], ok)
    return {"rank_ic": rank_ic, "ic": ic, "names": names}


def date_layout(dates: np.ndarray) -> tuple[pd.Index, np.ndarray, np.ndarray, int]:
    """Where each row goes in a (D, N) per-date layout: the sorted unique dates, each
    row's date code and position among its date's rows, and N (the most rows a date has)."""
    codes, uniques = pd.factorize(np.asarray(dates), sort=True)
    order = np.argsort(codes, kind="stable")
    sizes = np.bincount(codes, minlength=len(uniques))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    slot = np.empty(len(codes), dtype=np.int64)
    slot[order] = np.arange(len(codes)) - starts[codes[order]]
    return pd.Index(uniques), codes, slot, int(sizes.max()) if len(sizes) else 0


def daily_ic(dates: np.ndarray, prediction: np.ndarray, realized: np.ndarray) -> pd.DataFrame:
    """Per date, the cross-sectional Pearson IC and Spearman rank IC.

    Vectorized (``cross_sectional_ic`` on a per-date layout, no loop over dates). Rows
    with a missing prediction or outcome are left out of their date.

    Parameters
    ----------
    dates, prediction, realized : ndarray of shape (n,)

    Returns
    -------
    DataFrame indexed by date (sorted)
        Columns ic, rank_ic, names. Dates with fewer than 3 names or no dispersion have
        no IC (dropped).
    """
    index, codes, slot, width = date_layout(dates)
    wide_p = np.full((len(index), 1, width), np.nan)
    wide_r = np.full((len(index), width), np.nan)
    wide_p[codes, 0, slot] = np.asarray(prediction, dtype=float)
    wide_r[codes, slot] = np.asarray(realized, dtype=float)
    ic = cross_sectional_ic(wide_p, wide_r)
    frame = pd.DataFrame(
        {"ic": ic["ic"][:, 0], "rank_ic": ic["rank_ic"][:, 0], "names": ic["names"][:, 0]},
        index=index.rename("date"),
    )
    return frame[frame["rank_ic"].notna() & frame["ic"].notna()]


def ic_summary(
    ic: pd.Series,
    *,
    block: int = IC_BLOCK,
    n_boot: int = N_BOOT,
    seed: int = 0,
    folds: pd.Series | None = None,
) -> dict:
    """Mean IC with a moving-block bootstrap interval (arch's ``MovingBlockBootstrap``,
    blocks of ``block`` consecutive dates, see ``IC_BLOCK``), and ICIR = mean / standard
    deviation of the daily IC. ``ic`` is indexed by date in order; with fewer than
    ``2 * block`` days the mean has no interval (NaN bounds).

    With ``folds`` (each date's walk-forward fold), the mean and its interval are over
    folds instead (``over_folds``): one model is held over a fold, so its tilts and their
    luck last the fold, and date blocks shorter than a fold excluded 0 on noise.
    """
    values = ic.dropna().to_numpy()
    spread = float(np.std(values, ddof=1)) if len(values) > 1 else np.nan
    if folds is not None:
        mean = over_folds(ic, folds)
    elif len(values) < 2 * block:
        mean = Interval(float(np.mean(values)) if len(values) else np.nan, np.nan, np.nan)
    else:
        mean = bootstrap_interval(np.mean, values, block=block, n_boot=n_boot, seed=seed)
    return {
        "mean": mean,
        "icir": mean.estimate / spread if spread > 0 else np.nan,  # NaN > 0 is False
        "days": len(values),
    }


def classification_metrics(
    y: np.ndarray,
    p: np.ndarray,
    dates: np.ndarray,
    *,
    block: int | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
    auc_by_fold: np.ndarray | None = None,
) -> dict[str, Interval | float]:
    """AUC and accuracy (the hit rate) with intervals resampling whole dates (moving
    blocks of ``block`` dates when given), and the base-rate accuracy to beat.

    With ``auc_by_fold`` (each walk-forward fold's own AUC, ``fold_aucs``: of the model's
    score where its probability is calibrated per regime and so does not keep its order),
    the AUC is judged within folds: their mean with a Student-t interval over folds
    (``fold_interval``)."""
    resample = {"groups": dates, "block": block, "n_boot": n_boot, "seed": seed}
    if auc_by_fold is None:
        area = bootstrap_interval(auc, y, p, **resample)
    else:
        area = fold_interval(auc_by_fold)
    return {
        "auc": area,
        "accuracy": bootstrap_interval(hit_rate, y, p, **resample),
        "base_rate_accuracy": base_rate_accuracy(y),
        "n": len(y),
    }
