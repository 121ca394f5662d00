"""The model zoo: every learner on the same rows, purged folds and costs, side by side.

Each learner of the zoo (``engine.modeling.learners``) walks the same folds
(``engine.studies.walks``: serially or on Dask); the rank-average and the stacked ensemble
(``engine.modeling.ensembles``) are built from the members' out-of-sample scores. Each row
of the table reports, out of sample, each mean with a Student-t interval over folds (one
model is held over a fold, so its tilts and their luck last the fold: shorter blocks of
dates gave intervals excluding 0 on null panels), Bonferroni-adjusted over the rows:

- IC and rank IC of the score against the forward return (mean per date) and their IRs
  (mean over standard deviation of the daily values);
- the top-minus-bottom quintile spread of the forward excess return;
- top-k after costs: the default construction (TopkDropout) traded through the execution
  model, its daily net return over the equal-weight universe's (annualized; on data
  without skill it sits below 0 by the costs and the cash held), its information ratio
  and its net Sharpe;
- the Deflated Sharpe of the net returns over every row of the zoo (each row is a trial);
- the walk-forward's seconds (for an ensemble: 0, it refits no learner).

Qlib's published figures (CSI300, 20 seeds; Alpha158, Alpha360 for the sequence learners)
stand beside as a reference: IC and the information ratio of its top-k portfolio. They are
another market, universe and period, a yardstick of what a working signal looks like, not a
target to match.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.data.schema import Progress
from engine.features.panel import WidePanel
from engine.metrics import N_BOOT, TRADING_DAYS, Interval, deflated_sharpes, over_folds, sharpe
from engine.modeling.ensemble_diversity import compute_diversity, compute_ensemble_gain
from engine.modeling.ensembles import compute_stacked_score, member_scores, rank_average
from engine.modeling.evaluation import fold_of_date
from engine.modeling.factors import compute_tear_sheet, excess_returns
from engine.modeling.learners import (
    LEARNERS,
    LearnerParams,
    learner_families,
    trainable_learners,
)
from engine.modeling.tuning import trial_returns
from engine.studies.walks import run_walk_forwards

ENSEMBLES = ("rank average", "stacked")
# Qlib's benchmarks (CSI300, mean of 20 seeds): IC and the information ratio of the top-k
# portfolio, on Alpha158 (hand-made factors) for the tabular learners and on Alpha360 (the
# last 60 sessions' raw prices and volumes) for the sequence learners.
# github.com/microsoft/qlib/blob/main/examples/benchmarks/README.md
QLIB_REFERENCES = {
    "linear": (0.0397, 0.92),
    "lightgbm": (0.0448, 1.02),
    "xgboost": (0.0498, 0.91),
    "mlp": (0.0376, 1.14),
    "gru": (0.0493, 0.97),
    "transformer": (0.0114, -0.34),
    "double ensemble": (0.0521, 1.34),
}


@dataclass(frozen=True)
class ZooConfig:
    """Which learners, on which folds; ``learner`` holds the settings they share (the
    kind, families, top_k ...: ``learner.learner`` is replaced by each member's)."""

    learners: tuple[str, ...] = field(default_factory=trainable_learners)
    ensembles: bool = True
    train_months: int = 18
    test_months: int = 3
    learner: LearnerParams = field(default_factory=LearnerParams)
    horizon: int = 5  # the rows' label horizon in sessions: the intervals' block length
    n_boot: int = N_BOOT
    use_dask: bool = False
    workers: int = 2
    scheduler_address: str | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.learners) - set(LEARNERS))
        if unknown:
            raise ValueError(f"unknown learners {unknown}; the zoo has {list(LEARNERS)}")
        if len(set(self.learners)) != len(self.learners) or not self.learners:
            raise ValueError("choose each learner at most once, and at least one")
        if self.ensembles and len(self.learners) < 2:
            raise ValueError("an ensemble needs at least two learners")
        if not self.learner.cross_sectional:
            raise ValueError(
                "the zoo compares rankings of stocks: choose a cross-sectional kind "
                "(classifier, ranker or regressor), not market timing"
            )


@dataclass(frozen=True)
class ZooResult:
    """``table``: one row per learner and ensemble; ``diversity``: one row per pair of
    learners (``DiversityResult.as_frame``) or empty; ``returns``: each row's daily net
    returns; ``predictions``: each learner's out-of-sample frame."""

    table: pd.DataFrame
    diversity: pd.DataFrame
    returns: dict[str, pd.Series]
    predictions: dict[str, pd.DataFrame]


def interval_columns(name: str, value: Interval) -> dict:
    return {name: value.estimate, f"{name}_low": value.low, f"{name}_high": value.high}


def universe_returns(panel: WidePanel) -> pd.Series:
    """The equal-weight universe's daily close-to-close return (names with a price both
    days), by session."""
    close = pd.DataFrame(panel.close, index=panel.dates)
    return close.pct_change(fill_method=None).mean(axis=1, skipna=True)


def _row(
    name: str,
    frame: pd.DataFrame,
    net: pd.Series,
    universe: pd.Series,
    *,
    horizon: int,
    level: float,
) -> dict:
    """A zoo row's figures from its out-of-sample frame (``score``, ``ret``, ``fold`` ...)
    and its daily net returns; each mean with a Student-t interval over folds at
    ``level``."""
    folds = fold_of_date(frame)
    forward, _ = excess_returns(frame)
    # n_boot=1: the tear sheet's own (date-block) intervals are not used here
    sheet = compute_tear_sheet(frame["score"], forward, horizon=horizon, n_boot=1)
    daily = sheet.daily
    excess = (net - universe.reindex(net.index)).dropna()
    excess_folds = folds.reindex(excess.index, method="ffill")
    deviation = float(excess.std(ddof=1)) if len(excess) > 1 else np.nan
    return {
        "model": name,
        **interval_columns("ic", over_folds(daily["ic"], folds, level)),
        "icir": sheet.icir,
        **interval_columns("rank_ic", over_folds(daily["rank_ic"], folds, level)),
        "rank_icir": sheet.rank_icir,
        **interval_columns("spread", over_folds(daily["spread"], folds, level)),
        **interval_columns("excess", over_folds(excess, excess_folds, level, TRADING_DAYS)),
        "information_ratio": (
            float(excess.mean()) / deviation * np.sqrt(TRADING_DAYS) if deviation > 0 else np.nan
        ),
        "net_sharpe": sharpe(net.to_numpy()),
        "days": len(net),
        "folds": int(frame["fold"].nunique()),
    }


def _ensemble_frames(predictions: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The rank average and the stacked ensemble as out-of-sample frames (the first
    member's outcomes with the ensemble's score; the stacked one only on folds its layer
    scored)."""
    scores = member_scores(predictions)
    outcomes = next(iter(predictions.values()))
    averaged = outcomes.assign(score=rank_average(scores).reindex(outcomes.index))
    stacked = compute_stacked_score(scores, outcomes).score.reindex(outcomes.index)
    frames = {"rank average": averaged, "stacked": outcomes.assign(score=stacked)}
    return {name: frame[frame["score"].notna()] for name, frame in frames.items()}


def run_zoo(
    data: pd.DataFrame,
    panel: WidePanel,
    config: ZooConfig | None = None,
    *,
    progress: Progress | None = None,
) -> ZooResult:
    """Run the zoo on ``make_dataset`` output and the price panel of its tickers."""
    config = config or ZooConfig()
    jobs = {
        name: dataclasses.replace(
            config.learner, learner=name, families=learner_families(name, config.learner.families)
        )
        for name in config.learners
    }
    walks = run_walk_forwards(data, jobs, config, progress=progress)
    predictions = {name: walks[name].result.predictions for name in config.learners}
    frames = dict(predictions)
    seconds = {name: walks[name].seconds for name in config.learners}
    diversity = pd.DataFrame()
    if config.ensembles:
        frames |= _ensemble_frames(predictions)
        seconds |= dict.fromkeys(ENSEMBLES, 0.0)
        diversity = _diversity(predictions, frames, config)
    universe = universe_returns(panel)
    kind = config.learner.kind
    returns = {}
    rows = []
    # Bonferroni over the rows: the zoo is read as one table, so the chance of any false
    # "skill" across all of its rows stays at 5%
    level = 1.0 - 0.05 / len(frames)
    for name, frame in frames.items():
        returns[name] = trial_returns(panel, frame, kind)
        rows.append(_row(name, frame, returns[name], universe, horizon=config.horizon, level=level))
    table = pd.DataFrame(rows)
    table["deflated_sharpe"] = list(deflated_sharpes(returns).values())
    table["seconds"] = [seconds[name] for name in frames]
    table["reference_ic"] = [QLIB_REFERENCES.get(name, (np.nan, np.nan))[0] for name in frames]
    table["reference_ir"] = [QLIB_REFERENCES.get(name, (np.nan, np.nan))[1] for name in frames]
    return ZooResult(table, diversity, returns, predictions)


def _diversity(
    predictions: dict[str, pd.DataFrame],
    frames: dict[str, pd.DataFrame],
    config: ZooConfig,
) -> pd.DataFrame:
    """The members' pairwise diversity, and each ensemble's rank-IC gain over the member
    that was best on the earlier folds (columns ``gain``, ``gain_low``, ``gain_high`` on
    the ensemble rows' pair ``(ensemble, best member)``)."""
    scores = member_scores(predictions)
    result = compute_diversity(scores, horizon=config.horizon, n_boot=config.n_boot)
    outcomes = next(iter(predictions.values()))
    gains = []
    for name in ENSEMBLES:
        gain = compute_ensemble_gain(
            frames[name]["score"], scores, outcomes, horizon=config.horizon, n_boot=config.n_boot
        )
        gains.append(
            {"first": name, "second": gain.best_member, **interval_columns("gain", gain.gain)}
        )
    return pd.concat([result.as_frame(), pd.DataFrame(gains)], ignore_index=True)
