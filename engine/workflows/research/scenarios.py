"""Scenario replays: a model trained only on data before the window, traded through it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.calendar import last_session_on_or_before
from engine.data.universe import INDEX_TICKER
from engine.features.panel import to_wide
from engine.metrics import N_BOOT, hit_rate
from engine.modeling.labels import LabelParams
from engine.modeling.learners import Learner, LearnerParams
from engine.modeling.membership import members_in, membership_mask, membership_records
from engine.modeling.selection import REGIME_COLUMN
from engine.modeling.training import TrainConfig, build_dataset, fit_final_model, label_kind_for
from engine.studies.scenarios import Scenario, pass_criteria
from engine.trading.backtest import (
    BacktestConfig,
    BacktestResult,
    backtest_forecasts,
    buy_and_hold,
    compute_statistics,
)
from engine.trading.sizing import SizingParams, win_loss_ratio
from engine.workflows.data.prices import DbPath, load_prices
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.trials import record_trial


@dataclass(frozen=True)
class ScenarioResult:
    scenario: Scenario
    model: Learner
    trained_through: pd.Timestamp  # the last label outcome the model learned from
    forecasts: pd.DataFrame  # p and regime_id by (ticker, date) inside the window
    backtest: BacktestResult  # over the window only
    statistics: dict
    benchmarks: dict[str, pd.Series]
    regimes: pd.DataFrame
    hit_rate: float
    checks: list[dict]


def run_scenario(
    db_path: DbPath,
    scenario: Scenario,
    tickers: list[str],
    *,
    history_years: int = 5,
    learner: LearnerParams | None = None,
    config: BacktestConfig | None = None,
    sizing: SizingParams | None = None,
    n_boot: int = N_BOOT,
    membership: pd.DataFrame | None = None,
) -> ScenarioResult:
    """Train on the ``history_years`` before the window (labels known before it starts),
    forecast each session inside it, trade the forecasts with costs, and judge the seeds'
    criteria. Recorded as a trial.

    With ``membership`` (``load_membership``) the replay loads the tickers that were
    members on some date of the history or the window; the model learns, forecasts and
    trades each on its member dates only (None: every ticker on every date)."""
    as_of = last_session_on_or_before(scenario.start - pd.Timedelta(days=1))
    first = as_of - pd.DateOffset(years=history_years)
    tickers = members_in(membership, tickers, first, scenario.end)
    # what the store knew at the window's end; the model only learns labels known by as_of
    snapshot = build_snapshot(db_path, tickers, scenario.end)
    learner = learner or LearnerParams()
    features = snapshot.features_for(learner.families)
    prices, regimes = snapshot.prices, snapshot.regimes
    train_config = TrainConfig(
        tuple(tickers),
        start=first,
        as_of=as_of,
        label=LabelParams(kind=label_kind_for(learner.kind)),
        learner=learner,
        membership=() if membership is None else membership_records(membership),
    )
    data = build_dataset(features, prices, regimes["regime_id"], train_config, snapshot.index_close)
    model, _ = fit_final_model(data, train_config)
    dates = features.index.get_level_values("date")
    inside = features[(dates >= scenario.start) & (dates <= scenario.end)]
    inside = inside[membership_mask(membership, inside.index)]
    if inside.empty:
        span = f"{scenario.start:%Y-%m-%d} to {scenario.end:%Y-%m-%d}"
        raise ValueError(f"no stored data inside {scenario.name} ({span})")
    forecasts = pd.DataFrame(
        {"p": model.predict_proba(inside)[:, 1], REGIME_COLUMN: inside.get(REGIME_COLUMN, np.nan)},
        index=inside.index,
    )
    span = prices[
        (prices["date"] >= as_of - pd.DateOffset(years=1)) & (prices["date"] <= scenario.end)
    ]
    panel = to_wide(span)
    full = backtest_forecasts(
        panel,
        forecasts,
        win_loss_ratio(model.outcome_returns_),
        sizing=sizing or SizingParams(),
        config=config or BacktestConfig(),
    )
    window = full.between(scenario.start, scenario.end)
    returns = window.equity.pct_change().dropna().to_numpy()
    n_trials, variance = record_trial(db_path, "scenario", scenario.name, returns)
    statistics = compute_statistics(
        window, n_trials=n_trials, trial_sharpe_variance=variance, n_boot=n_boot
    )
    inside_prices = span[span["date"] >= scenario.start]
    benchmarks = {"equal-weight buy and hold": buy_and_hold(to_wide(inside_prices)).equity}
    index = load_prices(db_path, [INDEX_TICKER], start=scenario.start, end=scenario.end)
    if len(index):
        benchmarks["index (^GSPC)"] = buy_and_hold(to_wide(index)).equity
    labels = snapshot.labels(train_config.label, membership).reindex(forecasts.index)
    known = labels["label"].notna()
    share_right = hit_rate(labels["label"][known].to_numpy(), forecasts["p"][known].to_numpy())
    checks = pass_criteria(
        scenario, statistics["sharpe"].estimate, statistics["max_drawdown"].estimate
    )
    history = regimes.loc[scenario.start : scenario.end]
    return ScenarioResult(
        scenario,
        model,
        data["end_date"].max(),
        forecasts,
        window,
        statistics,
        benchmarks,
        history,
        share_right,
        checks,
    )
