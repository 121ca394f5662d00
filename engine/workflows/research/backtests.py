"""Backtesting a registered model: its walk-forward predictions, turned into targets by
its portfolio construction, traded with costs; the construction a run is traded with."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import pandas as pd

from engine.data.universe import INDEX_TICKER
from engine.features.panel import to_wide
from engine.metrics import N_BOOT
from engine.risk import Attribution
from engine.trading.backtest import (
    BacktestConfig,
    BacktestResult,
    backtest_forecasts,
    buy_and_hold,
    compute_relative_statistics,
    compute_statistics,
)
from engine.trading.construction import ConstructionParams, default_construction
from engine.trading.execution import corwin_schultz_half_spread
from engine.trading.sizing import SizingParams, win_loss_ratio
from engine.workflows.data.prices import DbPath, load_prices
from engine.workflows.modeling.runs import (
    load_model,
    load_oos_predictions,
    run_horizon,
    run_kind,
)
from engine.workflows.modeling.trials import record_trial
from engine.workflows.research.book_risk import BookStress, stress_book
from engine.workflows.research.breakdowns import BookBreakdown, break_down_book
from engine.workflows.research.risk_models import attribute_book, construction_risk
from store.db import StoreError, open_db
from store.models import ModelRun, ModelRunRepository


@dataclass(frozen=True)
class ModelBacktest:
    """The strategy, its benchmarks, statistics with intervals, the trial count (all of
    them, the run's tuning trials included), the construction it was traded with, and its
    returns by regime and by sector and by risk factor, and its last day's book
    stressed."""

    run_id: str
    result: BacktestResult
    statistics: dict
    benchmarks: dict[str, pd.Series]
    n_trials: int
    construction: ConstructionParams | None = None
    tuning_trials: int = 0  # the trials of the study that chose the run's settings
    breakdown: BookBreakdown | None = None
    stress: BookStress | None = None  # the book of the last day
    attribution: Attribution | None = None  # the book's returns by factor


def run_construction(record: ModelRun) -> ConstructionParams:
    """The construction a run is traded with: the stored one, else its kind's default
    (Kelly for the market-timing model, top_k for a cross-sectional one)."""
    if record.construction:
        return ConstructionParams.from_dict(record.construction)
    return default_construction(run_kind(record))


def set_run_construction(db_path: DbPath, run_id: str, params: ConstructionParams) -> None:
    """Store ``params`` as the construction the run is traded with (backtest default and
    the paper step's rule when the run is active)."""
    with closing(open_db(db_path)) as db:
        repository = ModelRunRepository(db)
        if repository.get(run_id) is None:
            raise StoreError(f"no model run {run_id!r}")
        repository.set_construction(run_id, params.as_dict())


def run_model_backtest(
    db_path: DbPath,
    run_id: str | None = None,
    *,
    config: BacktestConfig | None = None,
    sizing: SizingParams | None = None,
    construction: ConstructionParams | None = None,
    corwin_schultz_spread: bool = False,
    n_boot: int = N_BOOT,
) -> ModelBacktest:
    """Backtest a run's out-of-sample forecasts (never its in-sample fit) with costs, and
    record the trial. ``construction`` None: the run's (``run_construction``).

    Benchmarks: equal-weight buy-and-hold of the same tickers, and the index where it is
    stored; the statistics add the excess return and information ratio against each
    (``excess_universe``, ``ir_universe``, ``excess_index``, ``ir_index``), the annual
    turnover, the total costs and the Deflated Sharpe over every recorded trial. With
    ``corwin_schultz_spread`` the half-spread is half the 20-day Corwin-Schultz estimate
    up to the day before (the fixed one where high/low are missing)."""
    config = config or BacktestConfig()
    predictions, record = load_oos_predictions(db_path, run_id)
    construction = construction or run_construction(record)
    model, _ = load_model(db_path, record.run_id)
    tickers = sorted(predictions.index.get_level_values("ticker").unique())
    dates = predictions.index.get_level_values("date")
    prices = load_prices(db_path, [*tickers, INDEX_TICKER], start=dates.min(), end=dates.max())
    panel = to_wide(prices[prices["ticker"].isin(tickers)])
    spread = corwin_schultz_half_spread(panel) if corwin_schultz_spread else None
    risk, scale = construction_risk(
        db_path,
        construction,
        tickers,
        dates.max(),
        outcome_returns=model.outcome_returns_,
        horizon=run_horizon(record),
    )
    result = backtest_forecasts(
        panel,
        predictions,
        win_loss_ratio(model.outcome_returns_),
        sizing=sizing or SizingParams(),
        config=config,
        half_spread=spread,
        construction=construction,
        risk=risk,
        view_scale=scale,
    )
    returns = result.equity.pct_change().dropna().to_numpy()
    label = f"{record.run_id} {construction.method}"
    n_trials, variance = record_trial(db_path, "backtest", label, returns)
    statistics = compute_statistics(
        result, n_trials=n_trials, trial_sharpe_variance=variance, n_boot=n_boot
    )
    compared = {"universe": buy_and_hold(panel).equity}
    index = prices[prices["ticker"] == INDEX_TICKER]
    if len(index):
        compared["index"] = buy_and_hold(to_wide(index)).equity.reindex(panel.dates).ffill()
    statistics |= compute_relative_statistics(result, compared, n_boot=n_boot)
    names = {"universe": "equal-weight buy and hold", "index": f"index ({INDEX_TICKER})"}
    benchmarks = {names[key]: equity for key, equity in compared.items()}
    tuned = int(((record.metrics or {}).get("tuning") or {}).get("n_trials", 0))
    close = pd.DataFrame(panel.close, index=panel.dates, columns=panel.tickers)
    breakdown = break_down_book(db_path, result.equity, result.positions, close, n_boot=n_boot)
    last = result.equity.index[-1]
    stress = stress_book(
        db_path, result.positions.iloc[-1].to_dict(), result.cash.iloc[-1], last, result.equity
    )
    return ModelBacktest(
        record.run_id,
        result,
        statistics,
        benchmarks,
        n_trials,
        construction,
        tuned,
        breakdown,
        stress,
        attribute_book(db_path, result.equity, result.positions, close, n_boot=n_boot),
    )
