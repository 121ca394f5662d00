"""Out-of-sample evaluation: fit a fresh learner per walk-forward fold, predict its test
window, and score the pooled out-of-sample predictions with intervals.

Nothing here sees a test row before predicting it: each fold's learner is fitted on that
fold's (purged) training rows only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from engine.data.schema import Progress
from engine.metrics import (
    N_BOOT,
    Interval,
    auc,
    classification_metrics,
    daily_ic,
    fold_aucs,
    fold_interval,
    ic_block,
    ic_summary,
    over_folds,
)
from engine.modeling.calibration import CALIBRATION_METHODS
from engine.modeling.calibration_scores import (
    calibration_metrics,
    expected_calibration_error,
    reliability_curve,
)
from engine.modeling.factors import compute_tear_sheet, excess_returns
from engine.modeling.learners import LearnerParams, make_learner
from engine.modeling.selection import REGIME_COLUMN

OUTCOME_COLUMNS = ("label", "ret", "end_date", "target", "excess", "excess_index")
PREDICTION_COLUMNS = (
    "score",
    "p",
    "p_raw",
    *(f"p_{m}" for m in CALIBRATION_METHODS),
    "p_baseline",
    "label",
    "ret",
    "excess",
    "excess_index",
    "end_date",
    REGIME_COLUMN,
    "fold",
)


@dataclass(frozen=True)
class WalkForwardResult:
    """Pooled out-of-sample predictions (``PREDICTION_COLUMNS``, indexed by (ticker, date))
    and one row per fold (dates, rows, early-stopping round, selected features).

    ``score`` is the model's ranking score; ``p`` is calibrated with the run's method;
    ``p_platt``, ``p_isotonic`` and ``p_beta`` are the same raw scores calibrated by each
    method on the same evidence, so the methods can be compared out of sample. ``excess``
    and ``excess_index`` are NaN for absolute labels."""

    predictions: pd.DataFrame
    folds: pd.DataFrame


def make_dataset(features: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """Features joined with the label's outcome columns (``label``, ``ret``, ``end_date``,
    and ``target``, ``excess``, ``excess_index`` for relative labels); unlabelled rows
    dropped; rows in date order (ties by ticker), which the learner's time slices rely on."""
    outcomes = [c for c in OUTCOME_COLUMNS if c in labels.columns]
    data = features.join(labels[outcomes], how="inner")
    data = data[data["label"].notna()]
    return data.sort_index(level=["date", "ticker"])


def _evidence_before(parts: list[pd.DataFrame], start: np.datetime64) -> pd.DataFrame:
    """Earlier folds' out-of-sample rows whose outcome was known before ``start``."""
    if not parts:
        return pd.DataFrame()
    earlier = pd.concat(parts)
    return earlier[earlier["end_date"].to_numpy() < start]


def walk_forward(
    data: pd.DataFrame,
    splitter: BaseCrossValidator,
    params: LearnerParams | None = None,
    progress: Progress | None = None,
    on_fold: Callable[[pd.DataFrame], None] | None = None,
) -> WalkForwardResult:
    """Fit and predict every fold of ``splitter`` on ``make_dataset`` output.

    Each fold's calibrator is cross-fitted: its own held-out slice plus the earlier folds'
    out-of-sample predictions whose outcomes were known before the fold's test window.
    ``on_fold`` is handed the pooled out-of-sample predictions after each fold (what a
    tuning trial reports; it may raise to stop the walk there).
    """
    params = params or LearnerParams()
    splits = list(splitter.split(data, groups=data["end_date"]))
    if not splits:
        raise ValueError("the data is too short for a single walk-forward fold")
    parts, folds = [], []
    dates = data.index.get_level_values("date")
    for number, (train, test) in enumerate(splits):
        if progress:
            progress(number / len(splits), f"Fold {number + 1} of {len(splits)}: fitting")
        train_rows, test_rows = data.iloc[train], data.iloc[test]
        model = make_learner(params).fit(train_rows, train_rows["label"], train_rows["end_date"])
        earlier = _evidence_before(parts, dates[test].min().to_datetime64())
        if len(earlier):
            model.add_calibration_evidence(*calibration_evidence(earlier))
        predicted = model.fold_predictions(test_rows)
        regimes = test_rows.get(REGIME_COLUMN, pd.Series(np.nan, test_rows.index)).to_numpy()
        # the model's own method is its calibrator, fitted on the same evidence
        alternatives = {
            f"p_{method}": predicted["p"]
            if method == model.calibrator_.method
            else model.fit_calibrator(method).predict_proba(predicted["p_raw"], regimes)
            for method in CALIBRATION_METHODS
        }
        nan = np.full(len(test_rows), np.nan)
        parts.append(
            pd.DataFrame(
                {
                    "score": predicted["score"],
                    "p": predicted["p"],
                    "p_raw": predicted["p_raw"],
                    **alternatives,
                    "p_baseline": predicted["p_baseline"],
                    "label": test_rows["label"].to_numpy(),
                    "ret": test_rows["ret"].to_numpy(),
                    "excess": test_rows["excess"].to_numpy() if "excess" in test_rows else nan,
                    "excess_index": (
                        test_rows["excess_index"].to_numpy() if "excess_index" in test_rows else nan
                    ),
                    "end_date": test_rows["end_date"].to_numpy(),
                    REGIME_COLUMN: regimes,
                    "fold": number,
                },
                index=test_rows.index,
            )
        )
        folds.append(
            {
                "fold": number,
                "train_start": dates[train].min(),
                "train_end": dates[train].max(),
                "test_start": dates[test].min(),
                "test_end": dates[test].max(),
                "train_rows": len(train),
                "test_rows": len(test),
                "rounds": model.rounds_,
                "calibration_dates": len(np.unique(model.calibration_evidence_[3])),
                "features": ", ".join(model.selector_.columns_),
            }
        )
        if on_fold:
            on_fold(pd.concat(parts))
    if progress:
        progress(1.0, f"{len(splits)} folds done")
    return WalkForwardResult(pd.concat(parts), pd.DataFrame(folds))


def calibration_evidence(predictions: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Raw scores, labels, regimes and dates of out-of-sample predictions, as
    ``Learner.add_calibration_evidence`` takes them."""
    return (
        predictions["p_raw"].to_numpy(dtype=float),
        predictions["label"].to_numpy(dtype=int),
        predictions[REGIME_COLUMN].to_numpy(dtype=float),
        predictions.index.get_level_values("date").to_numpy(dtype="datetime64[ns]"),
    )


def fold_of_date(predictions: pd.DataFrame) -> pd.Series:
    """Each out-of-sample date's walk-forward fold (test windows do not overlap)."""
    return predictions["fold"].groupby(level="date").min()


def cross_section_summary(
    predictions: pd.DataFrame, *, horizon: int = 5, n_boot: int = N_BOOT, seed: int = 0
) -> dict:
    """The ranking's tear-sheet figures (``compute_tear_sheet`` of the score against the
    excess return): quintile spread (its mean and interval over folds, see
    ``engine.metrics.over_folds``), top-quintile turnover, top-5 hit rate, the quintile
    mean returns, and how often the forecasts differ across tickers."""
    score = predictions["score"] if "score" in predictions else predictions["p"]
    forward, _ = excess_returns(predictions)
    sheet = compute_tear_sheet(score, forward, horizon=horizon, n_boot=n_boot, seed=seed)
    return {
        "spread": over_folds(sheet.daily["spread"], fold_of_date(predictions)),
        "turnover": sheet.turnover,
        "top_k_hit_rate": sheet.hit_rate,
        "quantile_returns": sheet.quantile_returns,
        "differing_share": sheet.differing_share,
        "distinct_share": sheet.distinct_share,
    }


def evaluate(
    result: WalkForwardResult, *, horizon: int = 5, n_boot: int = N_BOOT, seed: int = 0
) -> dict:
    """Out-of-sample scores of the pooled predictions, each with an interval: over folds
    for the AUCs, the IC, the rank IC and the quintile spread (one model is held over a
    fold: its tilts and their luck last the fold), over dates for the rest.

    Returns AUC and accuracy (model and logistic baseline, and the AUC the model adds over
    the baseline; each AUC the mean of the folds' own, the model's of its score), the mean
    daily IC and rank IC of the score against realized forward returns with ICIR, ECE /
    Brier / log-loss of the calibrated and raw probabilities, the reliability curve,
    per-regime AUC and ECE, and the ranking's tear-sheet figures
    (``cross_section_summary``; ``horizon`` sets their block length).
    """
    pred = result.predictions
    y = pred["label"].to_numpy(dtype=int)
    dates = pred.index.get_level_values("date").to_numpy()
    # the same blocks as the IC: overlapping horizons and fold-held models tie dates
    resample = {"block": ic_block(horizon), "n_boot": n_boot, "seed": seed}
    score = pred["score"] if "score" in pred else pred["p"]  # runs before scores existed
    # AUCs within folds, of the score: see engine.metrics.fold_aucs
    folds, folds_by_date = pred["fold"].to_numpy(), fold_of_date(pred)
    model_aucs = fold_aucs(y, score.to_numpy(), folds)
    baseline_aucs = fold_aucs(y, pred["p_baseline"].to_numpy(), folds)
    model = classification_metrics(
        y, pred["p"].to_numpy(), dates, auc_by_fold=model_aucs, **resample
    )
    baseline = classification_metrics(
        y, pred["p_baseline"].to_numpy(), dates, auc_by_fold=baseline_aucs, **resample
    )
    lift = fold_interval(model_aucs - baseline_aucs)
    ic = daily_ic(dates, score.to_numpy(), pred["ret"].to_numpy())
    regimes = []
    for regime, rows in pred.groupby(REGIME_COLUMN):
        if rows["label"].nunique() == 2 and len(rows) >= 50:
            regimes.append(
                {
                    "regime_id": int(regime),
                    "rows": len(rows),
                    "auc": auc(rows["label"].to_numpy(), rows["p"].to_numpy()),
                    "ece": expected_calibration_error(
                        rows["label"].to_numpy(), rows["p"].to_numpy()
                    ),
                }
            )
    return {
        "rows": len(pred),
        "dates": int(len(np.unique(dates))),
        "folds": len(result.folds),
        "model": model,
        "baseline": baseline,
        "auc_lift_over_baseline": lift,
        "ic": ic_summary(ic["ic"], folds=folds_by_date),
        "rank_ic": ic_summary(ic["rank_ic"], folds=folds_by_date),
        "calibrated": calibration_metrics(y, pred["p"].to_numpy(), dates, **resample),
        "raw": calibration_metrics(y, pred["p_raw"].to_numpy(), dates, **resample),
        "reliability": reliability_curve(y, pred["p"].to_numpy()),
        "per_regime": pd.DataFrame(regimes, columns=["regime_id", "rows", "auc", "ece"]),
        "cross_section": cross_section_summary(pred, horizon=horizon, n_boot=n_boot, seed=seed),
    }


@dataclass(frozen=True)
class SkillVerdict:
    """Whether a run's ranking has shown skill out of sample, in plain words."""

    shown: bool
    text: str


@dataclass(frozen=True)
class RunScores:
    """A run's headline out-of-sample scores, typed from the metrics it records
    (``summarize_scores``): None where a run did not record one."""

    auc: Interval | None
    baseline_auc: Interval | None
    mean_ic: Interval | None
    rank_ic: Interval | None
    ece: Interval | None
    brier: Interval | None
    brier_climatology: float | None
    top_k_hit_rate: Interval | None = None

    @classmethod
    def from_metrics(cls, metrics: dict | None) -> RunScores:
        metrics = metrics or {}

        def interval(group: str, name: str) -> Interval | None:
            value = (metrics.get(group) or {}).get(name) or {}
            if value.get("estimate") is None:
                return None
            keys = ("estimate", "low", "high")
            return Interval(*(np.nan if value.get(k) is None else float(value[k]) for k in keys))

        climatology = (metrics.get("calibrated") or {}).get("brier_climatology")
        return cls(
            auc=interval("model", "auc"),
            baseline_auc=interval("baseline", "auc"),
            mean_ic=interval("ic", "mean"),
            rank_ic=interval("rank_ic", "mean"),
            ece=interval("calibrated", "ece"),
            brier=interval("calibrated", "brier"),
            brier_climatology=None if climatology is None else float(climatology),
            top_k_hit_rate=interval("cross_section", "top_k_hit_rate"),
        )


def ranking_skill(metrics: dict | None) -> SkillVerdict:
    """The verdict on a run's out-of-sample rank IC (``metrics`` as a run records them,
    read through ``RunScores``). Skill is shown only when the whole interval lies above 0;
    otherwise the ranking is not evidence."""
    interval = RunScores.from_metrics(metrics).rank_ic
    bounds = (np.nan,) * 3 if interval is None else (interval.estimate, interval.low, interval.high)
    values = np.array(bounds, dtype=float)
    if not np.isfinite(values).all():
        return SkillVerdict(
            False,
            "No skill shown: this run has no out-of-sample rank-IC interval (too few dates, "
            "or forecasts that did not differ across tickers), so its ranking is not "
            "evidence that one stock will beat another.",
        )
    estimate, low, high = values
    figure = f"rank IC {estimate:+.4f} [{low:+.4f}, {high:+.4f}]"
    if Interval(estimate, low, high).above(0.0):
        return SkillVerdict(True, f"Out of sample the ranking has shown skill: {figure}.")
    return SkillVerdict(
        False,
        f"No skill shown: out of sample the ranking's {figure} has an interval that contains "
        "0 or lies below it, so the model has shown no skill and this ranking is not "
        "evidence that one stock will beat another.",
    )
