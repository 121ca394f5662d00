"""Meta-labeling (López de Prado): a secondary model decides which of the primary's calls to take.

The primary model picks the side (here: long, where its signal says so); the *meta-label*
of each of its calls is 1 when the call was right, which for a long on a triple-barrier
label (``engine.modeling.labels.triple_barrier``) is the label itself: the take-profit was
touched first, or the vertical barrier closed above the entry. A secondary classifier on
the features plus the primary's score learns P(take) = P(the call is right), and the bet
is sized from it: ``2 * Phi(z) - 1`` with ``z = (p - 0.5) / sqrt(p (1 - p))``, 0 (skip)
for p <= 0.5 (Advances in Financial Machine Learning, ch. 3 and 10).

Honesty: the secondary is fitted only on the primary's out-of-sample calls of earlier
folds whose outcome was known before the scored window (a walk-forward over the
primary's predictions, purged by label end dates), so it never scores a row it was
fitted on; each scored row records the newest outcome its secondary saw
(``trained_through``). The report scores take/skip (precision, recall, F1) and the sized
strategy against the primary's alone, after the same costs, with intervals from
``engine.metrics``' bootstrap (blocks of dates; whole folds for the Sharpe ratios).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import BaseCrossValidator
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from engine.metrics import N_BOOT, Interval, bootstrap_interval, ic_block, sharpe
from engine.modeling.evaluation import fold_of_date
from engine.modeling.model_selection import PurgedWalkForward
from engine.modeling.sample_weights import SampleWeightParams, sample_weights

# Round-trip cost of a bet per unit of capital, charged alike to the primary and the sized
# strategy: the execution model's default 5 bps half-spread on entry and on exit, plus
# about 5 bps for commission and impact (engine.trading.execution.CostModel). Modeling
# cannot run the execution model itself (it sits below trading); a workflow can backtest
# the sized bets through it.
DEFAULT_COST_BPS = 15.0
# A regularized logistic regression on in-fold imputed, standardized inputs: the
# meta-label is noisy, and it fits in milliseconds on one thread (a gradient-boosted
# secondary, e.g. HistGradientBoostingClassifier, also fits, at many times the cost).
SECONDARY = make_pipeline(
    SimpleImputer(strategy="median"), StandardScaler(), LogisticRegression(C=0.1)
)
SPLITTER = PurgedWalkForward(train_months=12, test_months=3, expanding=True, min_train_dates=60)
META_COLUMNS = (
    "meta_label",
    "score",
    "ret",
    "end_date",
    "fold",
    "trained_through",
    "p_take",
    "size",
    "take",
)


def meta_labels(side, label) -> np.ndarray:
    """1.0 where the primary went long and the label says it was right, 0.0 where it was
    wrong, NaN where it made no call or the outcome is unknown.

    Parameters
    ----------
    side : array-like of shape (n,)
        1 (or True) where the primary goes long, 0 where it makes no call.
    label : array-like of shape (n,)
        Triple-barrier (or direction) labels: 1.0 when the long would have paid.
    """
    side, label = np.asarray(side, dtype=float), np.asarray(label, dtype=float)
    if not np.isin(side[np.isfinite(side)], (0.0, 1.0)).all():
        raise ValueError("side must be 1 (long) or 0 (no call): the labels are a long's")
    return np.where((side == 1) & np.isfinite(label), label, np.nan)


def bet_size(p_take) -> np.ndarray:
    """López de Prado's size from the probability that the call is right.

    Parameters
    ----------
    p_take : array-like of shape (n,)
        P(take) from the secondary.

    Returns
    -------
    ndarray of shape (n,)
        ``2 * Phi((p - 0.5) / sqrt(p (1 - p))) - 1`` clipped at 0 (skip when p <= 0.5):
        in [0, 1], 1 at p = 1; NaN where ``p_take`` is NaN.
    """
    p = np.asarray(p_take, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (p - 0.5) / np.sqrt(p * (1.0 - p))
    z = np.where(p >= 1.0, np.inf, np.where(p <= 0.0, -np.inf, z))
    return np.where(np.isfinite(p), np.maximum(2.0 * stats.norm.cdf(z) - 1.0, 0.0), np.nan)


def _p_right(model, X: pd.DataFrame) -> np.ndarray:
    """P(meta-label 1), also from a secondary that saw one class only."""
    classes = list(model.classes_)
    if 1 not in classes:
        return np.zeros(len(X))
    return model.predict_proba(X)[:, classes.index(1)]


def _fit(model, X: pd.DataFrame, y: np.ndarray, weight: np.ndarray | None):
    """``model.fit`` with ``sample_weight`` routed to a pipeline's last step."""
    if weight is None:
        return model.fit(X, y)
    step = f"{model.steps[-1][0]}__" if isinstance(model, Pipeline) else ""
    return model.fit(X, y, **{f"{step}sample_weight": weight})


def walk_forward_meta_labels(
    predictions: pd.DataFrame,
    side,
    features: pd.DataFrame | None = None,
    *,
    secondary=SECONDARY,
    splitter: BaseCrossValidator = SPLITTER,
    weights: SampleWeightParams | None = None,
) -> pd.DataFrame:
    """P(take) and bet size for the primary's calls, each from a secondary fitted on earlier ones.

    Parameters
    ----------
    predictions : DataFrame indexed by (ticker, date)
        The primary's pooled out-of-sample predictions (``walk_forward``'s): ``score``,
        ``label`` (triple-barrier), ``ret`` (the return at the exit) and ``end_date``.
    side : array-like of shape (n,)
        1 where the primary goes long, 0 where it makes no call (see ``meta_labels``).
    features : DataFrame, optional
        Numeric features known at each row's date, indexed like ``predictions``; the
        secondary sees them and the primary's ``score``.
    secondary : classifier
        A scikit-learn classifier (or pipeline) with ``predict_proba``, cloned for each
        fold; with ``weights``, its ``fit`` (a pipeline's last step) takes ``sample_weight``.
    splitter : BaseCrossValidator
        Cuts the calls by date; whatever it returns, a fold trains only on calls whose
        outcome (``end_date``) is before its first scored date, so a splitter that trains
        after its test window simply has less to train on.
    weights : SampleWeightParams, optional
        Fit the secondary with ``sample_weights`` of each fold's training calls (their
        labels overlap); None fits unweighted.

    Returns
    -------
    DataFrame indexed by (ticker, date)
        The primary's calls in scored windows, columns ``META_COLUMNS``: ``p_take``,
        ``size`` (``bet_size``), ``take`` (size > 0), the fold, and ``trained_through``
        (the newest outcome the fold's secondary was fitted on: always before the row's
        date). Calls before the first fold's window, or whose outcome is unknown, are left
        out.
    """
    meta = meta_labels(side, predictions["label"])
    calls = predictions.loc[np.isfinite(meta), ["score", "ret", "end_date"]].assign(
        meta_label=meta[np.isfinite(meta)]
    )
    X = calls[["score"]]
    if features is not None:
        X = features.reindex(calls.index).drop(columns="score", errors="ignore").join(X)
    dates = calls.index.get_level_values("date").to_numpy(dtype="datetime64[ns]")
    ends = calls["end_date"].to_numpy(dtype="datetime64[ns]")
    right = calls["meta_label"].to_numpy(dtype=int)
    parts = []
    for number, (candidates, test) in enumerate(splitter.split(X, groups=ends)):
        train = candidates[ends[candidates] < dates[test].min()]
        if not len(train):
            continue
        weight = None if weights is None else sample_weights(dates[train], ends[train], weights)
        model = _fit(clone(secondary), X.iloc[train], right[train], weight)
        p_take = _p_right(model, X.iloc[test])
        size = bet_size(p_take)
        parts.append(
            calls.iloc[test].assign(
                fold=number,
                trained_through=ends[train].max(),
                p_take=p_take,
                size=size,
                take=size > 0,
            )
        )
    if not parts:
        raise ValueError("no fold had earlier calls to fit the secondary on")
    return pd.concat(parts)[list(META_COLUMNS)]


@dataclass(frozen=True)
class MetaLabelReport:
    """Take/skip against the meta-label, and the sized strategy against the primary's.

    Attributes
    ----------
    calls, taken : int
        The primary's scored calls, and how many the secondary took.
    base_rate : float
        Share of the primary's calls that were right: the precision of taking them all.
    precision, recall, f1 : Interval
        Of take (size > 0) against the meta-label, resampled in blocks of dates.
    primary_sharpe, sized_sharpe : Interval
        Annualized Sharpe of the primary's calls at full size and of the sized bets,
        after ``cost_bps`` per unit of size. Resampled by whole folds: one secondary
        sizes a whole fold, so its tilt (and its luck) persists over the fold's dates.
        No paired gain is reported: on a null, sizing that ignores the outcomes still
        shrinks whatever luck the primary had, and a gain's interval can exclude 0.
        With few folds these intervals are short: on 20 null panels of the tests'
        generator (nine folds each) they left out 0 on 4 (primary) and 5 (sized) of 20,
        against the nominal 1; one that barely excludes 0 is no evidence.
    horizon : int
        Sessions a bet is held for (the vertical barrier).
    cost_bps : float
        Round-trip cost per unit of capital, the same for both strategies.
    """

    calls: int
    taken: int
    base_rate: float
    precision: Interval
    recall: Interval
    f1: Interval
    primary_sharpe: Interval
    sized_sharpe: Interval
    horizon: int
    cost_bps: float


# Hand-written counts rather than sklearn.metrics: a bootstrap calls these hundreds of
# times, and an undefined value (no take, no right call) is NaN, which the bootstrap skips.
def _counts(right: np.ndarray, take: np.ndarray) -> tuple[int, int, int]:
    right, take = right == 1, take.astype(bool)
    return int((right & take).sum()), int(take.sum()), int(right.sum())


def precision(right: np.ndarray, take: np.ndarray) -> float:
    """Share of the taken calls that were right (NaN when none was taken)."""
    hits, taken, _ = _counts(right, take)
    return hits / taken if taken else np.nan


def recall(right: np.ndarray, take: np.ndarray) -> float:
    """Share of the right calls that were taken (NaN when none was right)."""
    hits, _, positives = _counts(right, take)
    return hits / positives if positives else np.nan


def f1(right: np.ndarray, take: np.ndarray) -> float:
    """Harmonic mean of precision and recall: ``2 hits / (taken + right)``."""
    hits, taken, positives = _counts(right, take)
    return 2 * hits / (taken + positives) if taken + positives else np.nan


def strategy_returns(meta: pd.DataFrame, *, cost_bps: float = DEFAULT_COST_BPS) -> pd.DataFrame:
    """Each date's return of the primary's calls and of the sized bets, after costs.

    Capital is split equally over the primary's calls of a date; the primary takes each
    at size 1, the sized strategy at ``size`` (the rest stays in cash). A bet earns its
    ``ret`` (the return at the barrier it exited by) less ``cost_bps`` per unit of size.

    Parameters
    ----------
    meta : DataFrame
        ``walk_forward_meta_labels`` output.

    Returns
    -------
    DataFrame of shape (n_dates, 2)
        Columns ``primary`` and ``sized``, indexed by date in order: returns over the
        bets' holding horizon, not daily.
    """
    net = meta["ret"].to_numpy() - cost_bps / 1e4
    by_date = meta.index.get_level_values("date")
    frame = pd.DataFrame({"primary": net, "sized": meta["size"].to_numpy() * net}, index=by_date)
    return frame.groupby(level=0).mean().sort_index()


def meta_label_report(
    meta: pd.DataFrame,
    *,
    horizon: int = 10,
    cost_bps: float = DEFAULT_COST_BPS,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> MetaLabelReport:
    """Score ``walk_forward_meta_labels`` output out of sample, with intervals.

    Parameters
    ----------
    meta : DataFrame
        ``walk_forward_meta_labels`` output (every row scored by an earlier secondary).
    horizon : int
        The label's horizon in sessions (the vertical barrier): each date's bets are held
        up to that long, so their returns are annualized by ``TRADING_DAYS / horizon``;
        precision, recall and F1 resample moving blocks of ``ic_block(horizon)`` dates,
        the Sharpe ratios whole folds.
    cost_bps : float
        Round-trip cost per unit of size, charged to both strategies.
    n_boot, seed : int
        Bootstrap replicates and seed (the interval policy's defaults).
    """
    right = meta["meta_label"].to_numpy(dtype=int)
    take = meta["take"].to_numpy(dtype=bool)
    dates = meta.index.get_level_values("date").to_numpy(dtype="datetime64[ns]")
    by_dates = {"groups": dates, "block": ic_block(horizon), "n_boot": n_boot, "seed": seed}
    returns = strategy_returns(meta, cost_bps=cost_bps)
    folds = fold_of_date(meta).reindex(returns.index).to_numpy()
    by_folds = {"groups": folds, "n_boot": n_boot, "seed": seed}

    def horizon_sharpe(values: np.ndarray) -> float:  # sharpe() annualizes daily returns
        return sharpe(values) / np.sqrt(horizon)

    return MetaLabelReport(
        calls=len(meta),
        taken=int(take.sum()),
        base_rate=float(right.mean()) if len(right) else np.nan,
        precision=bootstrap_interval(precision, right, take, **by_dates),
        recall=bootstrap_interval(recall, right, take, **by_dates),
        f1=bootstrap_interval(f1, right, take, **by_dates),
        primary_sharpe=bootstrap_interval(horizon_sharpe, returns["primary"], **by_folds),
        sized_sharpe=bootstrap_interval(horizon_sharpe, returns["sized"], **by_folds),
        horizon=horizon,
        cost_bps=cost_bps,
    )
