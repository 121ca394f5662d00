"""Hyperparameter tuning with Optuna: a seeded TPE study over the learner's main settings,
each trial judged by the purged walk-forward inside the training window.

The search space (``suggest``), by learner family:

- the trees (XGBoost, LightGBM): ``learning_rate`` log-uniform in [0.005, 0.3];
  ``max_depth`` integer in [1, 6]; ``min_child_weight`` log-uniform in [1, 500];
  ``subsample`` uniform in [0.5, 1.0]; ``colsample_bytree`` uniform in [0.4, 1.0];
  ``n_estimators`` integer in [max(10, max_rounds // 10), max_rounds] (the learner's
  early stopping on its validation slice still applies);
- linear, the MLP and the sequence learners: ``l2_penalty`` log-uniform in [0.001, 1000];
  the networks also ``hidden_units`` (log-uniform integer in [8, 64]) and Adam's
  ``step_size`` (log-uniform in [0.0001, 0.01]);
- every family but the sequence learners (they read the whole path): ``top_k``, the
  number of selected features, integer in [5, 40].

The objective (maximized), judged within folds as the run's evaluation is: the mean over
folds of the out-of-sample daily rank IC of the score against the forward return for the
cross-sectional kinds; for market timing, whose forecasts rank dates rather than stocks,
the mean over folds of the AUC of the score against the label. After
each fold the trial reports the running objective over the folds so far, and a
``MedianPruner`` stops a trial whose running score is below the median of earlier trials
at the same fold.

Trials run here one after another, or as futures on a Dask scheduler (one walk-forward
per future, as many at once as there are workers) through Optuna's ask/tell interface.
A worker judges pruning on a copy of the study as it stood when its trial was asked
(the completed trials' fold scores); the client then records the trial's fold scores and
result in the real study. The same code runs on one machine or a cluster.

A cancel is held back while the study's storage is being written, and a study that stops
early marks every trial still RUNNING in it failed (``engine.modeling.interrupts``).

Every trial, pruned or not, is also traded: its out-of-sample forecasts (of the folds it
ran) through the kind's default construction with the backtest's costs and a neutral
win/loss ratio of 1 (measuring it on the same rows would let test outcomes into the
sizing). Its daily returns are what the Deflated Sharpe counts as one more trial.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import optuna
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from engine.cluster import dask_client
from engine.data.schema import Progress
from engine.features.panel import WidePanel
from engine.metrics import daily_ic, fold_aucs, fold_interval, over_folds
from engine.modeling.evaluation import fold_of_date, walk_forward
from engine.modeling.interrupts import cancel_deferred, fail_running_trials
from engine.modeling.learners import SEQUENCE_LEARNERS, LearnerParams
from engine.modeling.param_limits import Limit, check_limits
from engine.trading.backtest import BacktestConfig, backtest_forecasts
from engine.trading.construction import default_construction
from engine.trading.sizing import SizingParams

_FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)

TUNING_LIMITS = {
    "n_trials": Limit(1, 5_000, whole=True),
    "max_rounds": Limit(10, 20_000, whole=True),  # bounds n_estimators (its limit: 20,000)
}


@dataclass(frozen=True)
class TuningConfig:
    """``n_trials`` trials of a TPE sampler seeded with ``seed``; ``max_rounds`` bounds
    ``n_estimators``; the pruner judges no trial before ``startup_trials`` have completed.
    ``scheduler_address``: run the trials on that Dask scheduler (None: here, serially)."""

    n_trials: int = 20
    seed: int = 0
    max_rounds: int = 1000
    startup_trials: int = 5
    scheduler_address: str | None = None

    def __post_init__(self) -> None:
        check_limits(self, TUNING_LIMITS, "tuning settings")


@dataclass(frozen=True)
class TrialOutcome:
    """One trial: its settings, the running objective after each fold, its final value
    (NaN when pruned or undefined) and the daily returns of trading its forecasts."""

    number: int
    params: dict
    fold_scores: tuple[float, ...]
    value: float
    pruned: bool
    returns: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class TuningResult:
    study_name: str
    objective: str
    best_value: float
    learner: LearnerParams  # the base settings with the best trial's values
    outcomes: tuple[TrialOutcome, ...]

    def summary(self) -> dict:
        """What a run's manifest records about the study behind it."""
        return {
            "study_name": self.study_name,
            "objective": self.objective,
            "n_trials": len(self.outcomes),
            "pruned": sum(o.pruned for o in self.outcomes),
            "best_value": self.best_value,
            "best_params": {k: getattr(self.learner, k) for k in self.outcomes[0].params},
        }


def objective_name(kind: str) -> str:
    return "AUC" if kind == "market_timing" else "mean daily rank IC"


def suggest(trial: optuna.Trial, base: LearnerParams, config: TuningConfig) -> LearnerParams:
    """The base learner settings with the values ``trial`` draws from the search space."""
    if base.learner in ("xgboost", "lightgbm"):
        values = {
            "learning_rate": trial.suggest_float("learning_rate", 0.005, 0.3, log=True),
            "max_depth": trial.suggest_int("max_depth", 1, 6),
            "min_child_weight": trial.suggest_float("min_child_weight", 1.0, 500.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
            "n_estimators": trial.suggest_int(
                "n_estimators", max(10, config.max_rounds // 10), config.max_rounds
            ),
        }
    else:
        values = {"l2_penalty": trial.suggest_float("l2_penalty", 1e-3, 1e3, log=True)}
        if base.learner in ("mlp", *SEQUENCE_LEARNERS):
            values["hidden_units"] = trial.suggest_int("hidden_units", 8, 64, log=True)
            values["step_size"] = trial.suggest_float("step_size", 1e-4, 1e-2, log=True)
    if base.learner not in SEQUENCE_LEARNERS:  # they read every column of the path
        values["top_k"] = trial.suggest_int("top_k", 5, 40)
    return dataclasses.replace(base, **values)


def score_predictions(predictions: pd.DataFrame, kind: str) -> float:
    """The objective on out-of-sample predictions (NaN when it is undefined), judged within
    folds as the run's evaluation judges it: the mean over folds of each fold's AUC of the
    score (market timing) or of its mean daily rank IC."""
    if kind == "market_timing":
        return fold_interval(
            fold_aucs(
                predictions["label"].to_numpy(dtype=int),
                predictions["score"].to_numpy(),
                predictions["fold"].to_numpy(),
            )
        ).estimate
    dates = predictions.index.get_level_values("date").to_numpy()
    ic = daily_ic(dates, predictions["score"].to_numpy(), predictions["ret"].to_numpy())
    return over_folds(ic["rank_ic"], fold_of_date(predictions)).estimate


def trial_returns(panel: WidePanel, predictions: pd.DataFrame, kind: str) -> pd.Series:
    """Daily net returns of trading ``predictions`` by the kind's default construction,
    by session from the one after the first forecast."""
    result = backtest_forecasts(
        panel,
        predictions,
        1.0,
        sizing=SizingParams(),
        config=BacktestConfig(),
        construction=default_construction(kind),
    )
    first = predictions.index.get_level_values("date").min()
    return result.equity.loc[first:].pct_change().dropna()


def evaluate_trial(
    data: pd.DataFrame,
    panel: WidePanel,
    params: LearnerParams,
    splitter: BaseCrossValidator,
    *,
    history: list[optuna.trial.FrozenTrial],
    startup_trials: int,
) -> tuple[tuple[float, ...], float, bool, np.ndarray]:
    """Walk forward with ``params``, reporting the running objective after each fold to a
    trial of a copy of the study (``history``: its finished trials) and stopping when its
    ``MedianPruner`` says so. Returns (fold scores, value, pruned, daily returns)."""
    shadow = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=startup_trials)
    )
    shadow.add_trials(history)
    trial = shadow.ask()
    scores: list[float] = []
    pooled: list[pd.DataFrame] = []

    def report(predictions: pd.DataFrame) -> None:
        pooled[:] = [predictions]
        scores.append(score_predictions(predictions, params.kind))
        if np.isfinite(scores[-1]):
            trial.report(scores[-1], len(scores) - 1)
            if trial.should_prune():
                raise optuna.TrialPruned

    try:
        walk_forward(data, splitter, params, on_fold=report)
    except optuna.TrialPruned:
        returns = trial_returns(panel, pooled[0], params.kind).to_numpy()
        return tuple(scores), np.nan, True, returns
    returns = trial_returns(panel, pooled[0], params.kind).to_numpy()
    return tuple(scores), scores[-1], False, returns


def _tell(study: optuna.Study, trial: optuna.Trial, result: tuple) -> TrialOutcome:
    scores, value, pruned, returns = result
    for step, score in enumerate(scores):
        if np.isfinite(score):
            trial.report(score, step)
    state = optuna.trial.TrialState
    if pruned:
        study.tell(trial, state=state.PRUNED)
    elif np.isfinite(value):
        study.tell(trial, value)
    else:  # forecasts that never differed: no objective, no place in the ranking
        study.tell(trial, state=state.FAIL)
    return TrialOutcome(trial.number, dict(trial.params), scores, value, pruned, returns)


def run_study(
    data: pd.DataFrame,
    panel: WidePanel,
    base: LearnerParams,
    splitter: BaseCrossValidator,
    config: TuningConfig,
    *,
    study_name: str,
    storage: str | None = None,
    on_trial: Callable[[TrialOutcome], None] | None = None,
    progress: Progress | None = None,
) -> TuningResult:
    """Run the study on ``make_dataset`` output (rows of the training window only) and the
    price panel of its tickers; ``storage`` is Optuna's (an RDB URL; None: in memory).

    ``on_trial`` is called with each finished trial (in the order they finish). A cancel
    that arrives while the study's storage is being written (asking for a trial, telling
    its result, counting it with ``on_trial``) takes effect once that write is done. When
    the study stops early (a cancel, an error) no trial of it is left RUNNING: each one
    still running is marked failed before the exception is raised on.
    """
    with cancel_deferred():
        study = optuna.create_study(
            study_name=study_name,
            storage=storage,
            direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=config.seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=config.startup_trials),
        )
    objective = objective_name(base.kind)
    outcomes: list[TrialOutcome] = []
    open_trials: dict = {}

    def ask() -> tuple[optuna.Trial, LearnerParams, list]:
        with cancel_deferred():
            trial = study.ask()
            history = study.get_trials(deepcopy=False, states=_FINISHED)
            return trial, suggest(trial, base, config), history

    def finished(key, result: tuple) -> None:
        with cancel_deferred():
            outcome = _tell(study, open_trials[key], result)
            del open_trials[key]
            outcomes.append(outcome)
            if on_trial:
                on_trial(outcome)
        if progress:
            done = "pruned" if outcome.pruned else f"{objective} {outcome.value:.4f}"
            best = max((o.value for o in outcomes if np.isfinite(o.value)), default=np.nan)
            progress(
                len(outcomes) / config.n_trials,
                f"Tuning trial {len(outcomes)} of {config.n_trials}: {done} (best {best:.4f})",
            )

    try:
        if config.scheduler_address:
            work = (data, panel, splitter)
            _run_on_dask(work, config, ask=ask, open_trials=open_trials, finished=finished)
        else:
            startup = config.startup_trials
            for _ in range(config.n_trials):
                trial, params, history = ask()
                open_trials[trial.number] = trial
                result = evaluate_trial(
                    data, panel, params, splitter, history=history, startup_trials=startup
                )
                finished(trial.number, result)
    except BaseException as exc:
        try:  # every RUNNING trial of the study is one of ours, asked but not told
            fail_running_trials(study)
        except Exception as error:  # noqa: BLE001 - the stop's own exception is what counts
            exc.add_note(f"its running tuning trials could not be marked failed: {error!r}")
        raise
    complete = [o for o in outcomes if not o.pruned and np.isfinite(o.value)]
    if not complete:
        raise ValueError("no tuning trial finished with a score: the data is too short")
    best = max(complete, key=lambda o: o.value)
    learner = dataclasses.replace(base, **best.params)
    return TuningResult(study_name, objective, best.value, learner, tuple(outcomes))


def _run_on_dask(work: tuple, config: TuningConfig, *, ask, open_trials, finished) -> None:
    """The trials as futures on the scheduler, as many at once as it has workers;
    ``work`` is (data, panel, splitter)."""
    from dask.distributed import as_completed  # noqa: PLC0415 - optional

    with dask_client(config.scheduler_address) as client:
        data, panel, splitter = work
        shared_data, shared_panel = client.scatter([data, panel], broadcast=True)
        width = max(1, len(client.scheduler_info()["workers"]))
        running = as_completed()
        asked = 0

        def launch() -> None:
            nonlocal asked
            trial, params, history = ask()
            future = client.submit(
                evaluate_trial,
                shared_data,
                shared_panel,
                params,
                splitter,
                history=history,
                startup_trials=config.startup_trials,
                pure=False,
            )
            open_trials[future.key] = trial
            running.add(future)
            asked += 1

        for _ in range(min(width, config.n_trials)):
            launch()
        for future in running:
            finished(future.key, future.result())
            if asked < config.n_trials:
                launch()
