"""One-click ablation: does each part of the stack earn its place, out of sample?

The seeds' stack of variants, each a cumulative step: patterns only -> + regime ->
+ research families (technical, microstructure, cross-asset) -> + flow -> + calibration ->
+ position sizing -> + sentiment (the keyed news and insider family, last so that the steps
before it keep their meaning; without stored news or filings its columns are all NaN and
the step can only read "no evidence"). Every variant uses the same purged walk-forward (so
the same test rows) and the same costs. The learner is the study's other axis: each of
``learners`` runs the whole stack (its rows and steps carry its name), so a family's gain
can be read for trees, a linear model and a network side by side. A step's delta is the
mean of its per-fold deltas with a Student-t interval over folds, Bonferroni-adjusted for
the number of deltas judged together (every learner's); a delta whose interval straddles
zero is "no evidence", not a gain.

Walk-forwards for distinct family sets run in parallel on Dask (a local cluster by default,
or the scheduler at ``scheduler_address``; progress per walk-forward), or serially
(progress per fold): ``engine.studies.walks``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.data.schema import Progress
from engine.features.panel import WidePanel
from engine.metrics import (
    IC_BLOCK,
    N_BOOT,
    auc,
    bootstrap_interval,
    daily_ic,
    fold_interval,
    max_drawdown,
    sharpe,
)
from engine.modeling.calibration_scores import expected_calibration_error
from engine.modeling.evaluation import WalkForwardResult, fold_of_date
from engine.modeling.learners import TABULAR_LEARNERS, LearnerParams
from engine.studies.walks import run_walk_forwards
from engine.trading.backtest import BacktestConfig, backtest_forecasts, run_backtest
from engine.trading.sizing import SizingParams

RESEARCH = ("technical", "microstructure", "cross_asset")


@dataclass(frozen=True)
class Variant:
    name: str
    families: tuple[str, ...]
    calibrated: bool
    sized: bool


VARIANTS = (
    Variant("patterns only", ("patterns",), False, False),
    Variant("+ regime", ("patterns", "regime"), False, False),
    Variant("+ research families", ("patterns", "regime", *RESEARCH), False, False),
    Variant("+ flow", ("patterns", "regime", *RESEARCH, "flow"), False, False),
    Variant("+ calibration", ("patterns", "regime", *RESEARCH, "flow"), True, False),
    Variant("+ position sizing", ("patterns", "regime", *RESEARCH, "flow"), True, True),
    Variant("+ sentiment", ("patterns", "regime", *RESEARCH, "flow", "sentiment"), True, True),
)
VARIANT_NAMES = tuple(v.name for v in VARIANTS)


@dataclass(frozen=True)
class AblationConfig:
    """The variants, the learners that each run them (``learner`` holds the settings they
    share: ``learner.learner`` is replaced by each of ``learners``), the folds and costs."""

    variants: tuple[str, ...] = VARIANT_NAMES
    train_months: int = 18
    test_months: int = 3
    learners: tuple[str, ...] = ("xgboost",)
    learner: LearnerParams = field(default_factory=LearnerParams)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    sizing: SizingParams = field(default_factory=SizingParams)
    n_boot: int = N_BOOT
    use_dask: bool = True
    workers: int = 2
    scheduler_address: str | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.learners) - set(TABULAR_LEARNERS))
        if unknown:
            # the sequence learners read the price path only: no family stack to vary
            raise ValueError(
                f"learners {unknown} are not in the ablation; it varies the families of "
                f"{list(TABULAR_LEARNERS)}"
            )
        if not self.learners or len(set(self.learners)) != len(self.learners):
            raise ValueError("choose each learner at most once, and at least one")

    def chosen(self) -> list[Variant]:
        unknown = sorted(set(self.variants) - set(VARIANT_NAMES))
        if unknown:
            raise ValueError(f"unknown ablation variants {unknown}; known: {list(VARIANT_NAMES)}")
        return [v for v in VARIANTS if v.name in self.variants]


@dataclass(frozen=True)
class AblationResult:
    """One row per variant (``table``), one per step between consecutive variants
    (``steps``), and each variant's daily strategy returns."""

    table: pd.DataFrame
    steps: pd.DataFrame
    returns: dict[str, pd.Series]


Job = tuple[str, tuple[str, ...]]  # a learner and a family set


def _run_all(
    data: pd.DataFrame,
    family_sets: list[tuple[str, ...]],
    config: AblationConfig,
    progress: Progress | None,
) -> dict[Job, WalkForwardResult]:
    """One walk-forward per learner and family set, on the same folds."""
    jobs = {
        (learner, families): dataclasses.replace(config.learner, learner=learner, families=families)
        for learner in config.learners
        for families in family_sets
    }
    walks = run_walk_forwards(
        data, jobs, config, progress=progress, describe=lambda job: f"{job[0]}: {', '.join(job[1])}"
    )
    return {job: walk.result for job, walk in walks.items()}


def _strategy(
    panel: WidePanel,
    predictions: pd.DataFrame,
    variant: Variant,
    ratio: float,
    config: AblationConfig,
) -> pd.Series:
    """Daily net returns of trading a variant's forecasts with the shared costs."""
    column = "p" if variant.calibrated else "p_raw"
    signals = predictions.assign(p=predictions[column])
    if variant.sized:
        result = backtest_forecasts(
            panel, signals, ratio, sizing=config.sizing, config=config.backtest
        )
    else:  # equal weight across the names forecast up
        p_up = (
            signals["p"].unstack("ticker").reindex(index=panel.dates, columns=list(panel.tickers))
        )
        longs = (p_up > 0.5).astype(float).where(p_up.notna())
        weights = longs.div(longs.sum(axis=1).where(lambda n: n > 0), axis=0).fillna(0.0)
        weights = weights.where(p_up.notna().any(axis=1), np.nan, axis=0).to_numpy() * 0.98
        result = run_backtest(
            panel,
            weights,
            config=dataclasses.replace(config.backtest, use_exits=False),
        )
    first = predictions.index.get_level_values("date").min()
    return result.equity.loc[first:].pct_change().dropna()


def _scores(
    predictions: pd.DataFrame, variant: Variant, learner: str, returns: pd.Series, n_boot: int
) -> dict:
    column = "p" if variant.calibrated else "p_raw"
    y = predictions["label"].to_numpy(dtype=int)
    p = predictions[column].to_numpy()
    dates = predictions.index.get_level_values("date").to_numpy()
    ic = daily_ic(dates, p, predictions["ret"].to_numpy())["ic"]
    # blocks of dates as in the run's own evaluation (the default horizon's block)
    auc_interval = bootstrap_interval(auc, y, p, groups=dates, block=IC_BLOCK, n_boot=n_boot)
    return {
        "variant": variant.name,
        "learner": learner,
        "families": ", ".join(variant.families),
        "auc": auc_interval.estimate,
        "auc_low": auc_interval.low,
        "auc_high": auc_interval.high,
        "ic": float(ic.mean()),
        "ece": expected_calibration_error(y, p),
        "net_sharpe": sharpe(returns.to_numpy()),
        "max_drawdown": max_drawdown(returns.to_numpy()),
    }


def _verdict(low: float, high: float) -> str:
    if low > 0:
        return "gain"
    if high < 0:
        return "loss"
    return "no evidence"


def _step(learner: str, before: tuple, after: tuple, level: float) -> dict:
    """Per-fold deltas of AUC and net Sharpe between consecutive variants, with intervals
    over folds: rows of one fold share its model's luck, so resampling rows or days would
    understate how uncertain a step is."""
    (name_a, pred_a, col_a, ret_a), (name_b, pred_b, col_b, ret_b) = before, after
    other = pred_b[col_b].reindex(pred_a.index)
    fold_of_day = fold_of_date(pred_a)
    paired = pd.concat([ret_a, ret_b], axis=1, join="inner")
    day_folds = fold_of_day.reindex(paired.index).ffill().bfill()
    auc_deltas, sharpe_deltas = [], []
    for fold, rows in pred_a.groupby("fold"):
        y = rows["label"].to_numpy(dtype=int)
        if len(np.unique(y)) == 2:
            auc_deltas.append(
                auc(y, other.loc[rows.index].to_numpy()) - auc(y, rows[col_a].to_numpy())
            )
        days = paired[day_folds == fold].to_numpy()
        if len(days) > 5:
            sharpe_deltas.append(sharpe(days[:, 1]) - sharpe(days[:, 0]))
    delta_auc = fold_interval(np.array(auc_deltas), level)
    delta_sharpe = fold_interval(np.array(sharpe_deltas), level)
    return {
        "step": f"{name_a} -> {name_b}",
        "learner": learner,
        "delta_auc": delta_auc.estimate,
        "auc_low": delta_auc.low,
        "auc_high": delta_auc.high,
        "auc_verdict": _verdict(delta_auc.low, delta_auc.high),
        "delta_sharpe": delta_sharpe.estimate,
        "sharpe_low": delta_sharpe.low,
        "sharpe_high": delta_sharpe.high,
        "sharpe_verdict": _verdict(delta_sharpe.low, delta_sharpe.high),
        "folds": len(auc_deltas),
    }


def run_ablation(
    data: pd.DataFrame,
    panel: WidePanel,
    config: AblationConfig | None = None,
    *,
    win_loss_ratio: float = 1.0,
    progress: Progress | None = None,
) -> AblationResult:
    """Run the chosen variants on ``make_dataset`` output and a price panel of its tickers."""
    config = config or AblationConfig()
    variants = config.chosen()
    family_sets = list(dict.fromkeys(v.families for v in variants))
    walks = _run_all(data, family_sets, config, progress)
    rows, chains, returns = [], {}, {}
    for learner in config.learners:
        chain = chains.setdefault(learner, [])
        for variant in variants:
            predictions = walks[learner, variant.families].predictions
            daily = _strategy(panel, predictions, variant, win_loss_ratio, config)
            # each learner's variant is a trial of its own (a lone learner's keeps its name)
            trial = variant.name if len(config.learners) == 1 else f"{learner}: {variant.name}"
            returns[trial] = daily
            rows.append(_scores(predictions, variant, learner, daily, config.n_boot))
            chain.append((variant.name, predictions, "p" if variant.calibrated else "p_raw", daily))
    # Bonferroni: every step is judged on two metrics at once, so each interval is widened
    # to keep the chance of any false "gain" across the whole table at 5%.
    judged = sum(len(chain) - 1 for chain in chains.values())
    level = 1.0 - 0.05 / max(1, 2 * judged)
    steps = [
        _step(learner, a, b, level)
        for learner, chain in chains.items()
        for a, b in zip(chain, chain[1:], strict=False)
    ]
    return AblationResult(pd.DataFrame(rows), pd.DataFrame(steps), returns)
