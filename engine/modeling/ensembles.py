"""Ensembles of learners over their out-of-sample predictions: rank average, a stacked
layer fitted on earlier folds only, the members' diversity and the ensemble's gain.

Every learner's walk-forward yields the same out-of-sample frame
(``WalkForwardResult.predictions``: rows (ticker, date), with ``score``, ``label``,
``ret``, ``end_date`` and ``fold``). An ensemble is built from those frames alone, so it
works for every learner and never refits one:

- ``rank_average``: per date, each member's score becomes its centred rank and the ranks
  are averaged (scales differ across learners; ranks do not);
- ``StackedEnsemble``: a second-level model over the members' per-date ranks. The layer
  that scores fold k is fitted on rows of folds before k whose outcome was known before
  fold k's first date (the purge), never on a row it scores.

How much the members differ, and what an ensemble adds over its best member, is
``engine.modeling.ensemble_diversity``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone, is_classifier
from sklearn.linear_model import LogisticRegression

from engine.modeling.processors import CrossSectionalNormalizer


def member_scores(predictions: Mapping[str, pd.DataFrame], column: str = "score") -> pd.DataFrame:
    """The members' scores side by side.

    Parameters
    ----------
    predictions : mapping of name -> DataFrame indexed by (ticker, date)
        Each member's out-of-sample frame (``WalkForwardResult.predictions``).
    column : str
        The column to take from each frame.

    Returns
    -------
    DataFrame of shape (n, m)
        One column per member, rows the union of the members' (ticker, date) rows; NaN
        where a member has no prediction.
    """
    return pd.concat({name: frame[column] for name, frame in predictions.items()}, axis=1)


def per_date_ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """Each column's centred per-date rank ``(rank - 0.5) / n - 0.5`` in (-0.5, 0.5):
    negative below the date's median, positive above, 0 at it; NaN stays NaN.

    Parameters
    ----------
    scores : DataFrame of shape (n, m), indexed by (ticker, date)

    Returns
    -------
    DataFrame of shape (n, m)
        A value at (ticker, t) depends on the other tickers' values at t only.
    """
    ranker = CrossSectionalNormalizer("rank", min_varying_share=0.0)
    return ranker.fit_transform(scores)


def rank_average(scores: pd.DataFrame) -> pd.Series:
    """The rank-average ensemble: per row, the mean of the members' per-date ranks.

    Parameters
    ----------
    scores : DataFrame of shape (n, m), indexed by (ticker, date)
        The members' scores (``member_scores``).

    Returns
    -------
    Series of shape (n,)
        A member without a score on a row stays out of that row's average; a row no
        member scored is NaN.
    """
    return per_date_ranks(scores).mean(axis=1).rename("rank_average")


class StackedEnsemble(BaseEstimator):
    """A second-level model over the members' per-date ranks, fitted walk-forward.

    Parameters
    ----------
    estimator : estimator, optional
        The layer (cloned once per fold); default a ``LogisticRegression`` of the binary
        label on the members' ranks. A regressor (``Ridge``) takes a continuous target.
        Its ranking score is ``decision_function`` where it has one, else ``predict``.
    min_folds : int
        Folds ``0 .. min_folds - 1`` (in fold order) get no layer and no stacked score:
        the layer needs earlier folds' outcomes to learn from.

    Attributes
    ----------
    layers_ : dict of int -> estimator
        The fitted layer of each fold that has one.
    layer_folds_ : dict of int -> tuple of int
        The folds whose rows each layer was fitted on (all earlier than its own).
    layer_rows_ : dict of int -> int
        How many rows each layer was fitted on.
    folds_ : tuple of int
        Every fold seen by ``fit``, in order.

    Notes
    -----
    Look-ahead: the layer of fold k sees only rows of folds before k whose label end
    date is before fold k's first date; a row without a known outcome (NaT end date or
    NaN target) trains no layer. A member missing on a row enters as 0 (the median rank).
    """

    def __init__(self, estimator: BaseEstimator | None = None, *, min_folds: int = 1) -> None:
        self.estimator = estimator
        self.min_folds = min_folds

    def _layer_inputs(self, X: pd.DataFrame) -> np.ndarray:
        return per_date_ranks(X[self.columns_]).fillna(0.0).to_numpy()

    def fit(
        self, X: pd.DataFrame, y: np.ndarray, *, folds: np.ndarray, end_dates: np.ndarray
    ) -> StackedEnsemble:
        """Fit one layer per fold from ``min_folds`` on, each on earlier folds' rows.

        Parameters
        ----------
        X : DataFrame of shape (n, m), indexed by (ticker, date)
            The members' out-of-sample scores (``member_scores``).
        y : ndarray of shape (n,)
            The target (the label; NaN where unknown).
        folds : ndarray of int, shape (n,)
            Each row's walk-forward fold, numbered in time order.
        end_dates : ndarray of datetime64, shape (n,)
            Each row's label end date (NaT where the outcome is unknown).
        """
        if self.min_folds < 1:
            raise ValueError("min_folds must be at least 1: fold 0 has no earlier folds")
        estimator = self.estimator if self.estimator is not None else LogisticRegression()
        self.columns_ = list(X.columns)
        inputs = self._layer_inputs(X)
        target = np.asarray(y, dtype=float)
        fold_of = np.asarray(folds)
        dates = X.index.get_level_values("date").to_numpy(dtype="datetime64[ns]")
        ends = np.asarray(pd.to_datetime(end_dates), dtype="datetime64[ns]")
        self.folds_ = tuple(int(f) for f in np.unique(fold_of))
        self.layers_, self.layer_folds_, self.layer_rows_ = {}, {}, {}
        for fold in self.folds_[self.min_folds :]:
            start = dates[fold_of == fold].min()
            rows = (fold_of < fold) & (ends < start) & np.isfinite(target)  # NaT < start: False
            if not rows.any() or (is_classifier(estimator) and len(np.unique(target[rows])) < 2):
                continue
            self.layers_[fold] = clone(estimator).fit(inputs[rows], target[rows])
            self.layer_folds_[fold] = tuple(int(f) for f in np.unique(fold_of[rows]))
            self.layer_rows_[fold] = int(rows.sum())
        return self

    def ranking_score(self, X: pd.DataFrame, *, folds: np.ndarray) -> np.ndarray:
        """The stacked score of each row by its own fold's layer.

        Parameters
        ----------
        X : DataFrame of shape (n, m), indexed by (ticker, date)
            The members' scores, whole cross-sections (ranks are taken per date of ``X``).
        folds : ndarray of int, shape (n,)

        Returns
        -------
        ndarray of shape (n,)
            NaN on rows whose fold has no layer.
        """
        inputs = self._layer_inputs(X)
        fold_of = np.asarray(folds)
        out = np.full(len(X), np.nan)
        for fold, layer in self.layers_.items():
            rows = fold_of == fold
            if rows.any():
                scorer = getattr(layer, "decision_function", layer.predict)
                out[rows] = np.ravel(scorer(inputs[rows]))
        return out


@dataclass(frozen=True)
class StackedScores:
    """The stacked ensemble's out-of-sample score and what it left out.

    Attributes
    ----------
    score : Series of shape (n,), indexed by (ticker, date)
        NaN on the rows of folds without a layer.
    layer_folds : dict of int -> tuple of int
        Per scored fold, the earlier folds its layer was fitted on.
    folds_without_layer : tuple of int
        Folds with no stacked score (the first ``min_folds``, or no usable earlier rows).
    rows_without_score : int
        Rows of those folds.
    """

    score: pd.Series
    layer_folds: dict[int, tuple[int, ...]]
    folds_without_layer: tuple[int, ...]
    rows_without_score: int


def compute_stacked_score(
    scores: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    target: str = "label",
    estimator: BaseEstimator | None = None,
    min_folds: int = 1,
) -> StackedScores:
    """The stacked ensemble over ``scores`` walked forward over ``outcomes``' folds.

    Parameters
    ----------
    scores : DataFrame of shape (n, m), indexed by (ticker, date)
        The members' out-of-sample scores (``member_scores``).
    outcomes : DataFrame indexed by (ticker, date)
        ``target``, ``end_date`` and ``fold`` (one member's out-of-sample frame: every
        member walked the same folds). Its rows are the rows scored.
    target, estimator, min_folds
        The layer's target column, model and warm-up (``StackedEnsemble``).
    """
    scores = scores.reindex(outcomes.index)
    folds = outcomes["fold"].to_numpy()
    model = StackedEnsemble(estimator, min_folds=min_folds).fit(
        scores, outcomes[target].to_numpy(), folds=folds, end_dates=outcomes["end_date"]
    )
    score = model.ranking_score(scores, folds=folds)
    missing = tuple(f for f in model.folds_ if f not in model.layers_)
    return StackedScores(
        score=pd.Series(score, index=scores.index, name="stacked"),
        layer_folds=dict(model.layer_folds_),
        folds_without_layer=missing,
        rows_without_score=int(np.isin(folds, missing).sum()),
    )
