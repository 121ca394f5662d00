"""Backtesting a registered model: its walk-forward predictions, sized, traded with costs."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.universe import INDEX_TICKER
from engine.features.panel import to_wide
from engine.metrics import TRADING_DAYS, sharpe
from engine.trading.backtest import (
    BacktestConfig,
    BacktestResult,
    backtest_forecasts,
    buy_and_hold,
    compute_statistics,
)
from engine.trading.execution import corwin_schultz_half_spread
from engine.trading.sizing import SizingParams, win_loss_ratio
from engine.workflows.data import DbPath, load_prices
from engine.workflows.runs import load_model, load_oos_predictions
from store.db import open_db
from store.trials import TrialRepository


@dataclass(frozen=True)
class ModelBacktest:
    """The strategy, its benchmarks, statistics with intervals and the trial count."""

    run_id: str
    result: BacktestResult
    statistics: dict
    benchmarks: dict[str, pd.Series]
    n_trials: int


def record_trial(db_path: DbPath, kind: str, label: str, returns: np.ndarray) -> tuple[int, float]:
    """Count a run as a trial for the Deflated Sharpe; return the number of trials so far
    and the variance of their per-period Sharpe ratios."""
    per_period = sharpe(returns) / np.sqrt(TRADING_DAYS) if len(returns) > 1 else np.nan
    with closing(open_db(db_path)) as db:
        trials = TrialRepository(db)
        trials.record(kind, label, per_period, len(returns))
        return trials.summary()


def run_model_backtest(
    db_path: DbPath,
    run_id: str | None = None,
    *,
    config: BacktestConfig | None = None,
    sizing: SizingParams | None = None,
    corwin_schultz_spread: bool = False,
    n_boot: int = 300,
) -> ModelBacktest:
    """Backtest a run's out-of-sample forecasts (never its in-sample fit) with costs, and
    record the trial. Benchmarks: equal-weight buy-and-hold of the same tickers, and the
    index where it is stored. With ``corwin_schultz_spread`` the half-spread is half the
    20-day Corwin-Schultz estimate up to the day before (the fixed one where high/low are
    missing)."""
    config = config or BacktestConfig()
    predictions, record = load_oos_predictions(db_path, run_id)
    model, _ = load_model(db_path, record.run_id)
    tickers = sorted(predictions.index.get_level_values("ticker").unique())
    dates = predictions.index.get_level_values("date")
    prices = load_prices(db_path, [*tickers, INDEX_TICKER], start=dates.min(), end=dates.max())
    panel = to_wide(prices[prices["ticker"].isin(tickers)])
    spread = corwin_schultz_half_spread(panel) if corwin_schultz_spread else None
    result = backtest_forecasts(
        panel,
        predictions,
        win_loss_ratio(model.outcome_returns_),
        sizing=sizing or SizingParams(),
        config=config,
        half_spread=spread,
    )
    returns = result.equity.pct_change().dropna().to_numpy()
    n_trials, variance = record_trial(db_path, "backtest", record.run_id, returns)
    statistics = compute_statistics(
        result, n_trials=n_trials, trial_sharpe_variance=variance, n_boot=n_boot
    )
    benchmarks = {"equal-weight buy and hold": buy_and_hold(panel).equity}
    index = prices[prices["ticker"] == INDEX_TICKER]
    if len(index):
        benchmarks["index (^GSPC)"] = (
            buy_and_hold(to_wide(index)).equity.reindex(panel.dates).ffill()
        )
    return ModelBacktest(record.run_id, result, statistics, benchmarks, n_trials)
