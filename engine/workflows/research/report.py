"""Tear-sheet reports (self-contained HTML, ``engine.display.report``) of a backtest, the
paper account, or any value series (a holdings value, for instance)."""

from __future__ import annotations

from contextlib import closing

import pandas as pd

from engine.display.report import render_report
from engine.metrics import N_BOOT
from engine.trading.backtest import compute_return_statistics
from engine.trading.gate import closed_trades, step_equity
from engine.workflows.data.prices import DbPath
from engine.workflows.research.backtests import ModelBacktest
from store.db import StoreError, open_db
from store.paper import PaperLedger

CONVENTIONS = (
    "Daily returns, 252 sessions a year, risk-free rate 0. CAGR compounds over "
    "returns / 252 years; Sortino divides by the root mean square of the negative returns "
    "over all returns; intervals: 95% moving-block bootstrap of the daily returns (blocks of "
    "20), the win rate's closed trades resampled iid."
)


MIN_REPORT_VALUES = 3  # two returns: the least a volatility or a drawdown needs


def value_report_html(
    values: pd.Series,
    *,
    title: str,
    benchmarks: dict[str, pd.Series] | None = None,
    trades: pd.DataFrame | None = None,
    wins: pd.Series | None = None,
    n_boot: int = N_BOOT,
) -> str:
    """The tear sheet of a value (equity) series by date, with optional benchmarks (value
    series by date), a trades table and ``wins`` (1/0 per closed trade) for the win rate."""
    if values.dropna().size < MIN_REPORT_VALUES:
        raise ValueError("A report needs at least three values (two returns).")
    statistics = compute_return_statistics(
        values, None if wins is None else wins.to_numpy(dtype=float), n_boot=n_boot
    )
    return render_report(
        title, values, statistics, benchmarks=benchmarks, trades=trades, notes=(CONVENTIONS,)
    )


def backtest_report_html(outcome: ModelBacktest) -> str:
    """The tear sheet of a model backtest, with the statistics it was reported with."""
    stats = outcome.statistics
    notes = (
        CONVENTIONS,
        f"Construction: {outcome.construction}. Costs {stats['costs']:,.0f} in total. "
        f"Deflated Sharpe {stats['dsr']:.2f} over {outcome.n_trials} trial(s).",
    )
    return render_report(
        f"Backtest of run {outcome.run_id}",
        outcome.result.equity,
        stats,
        benchmarks=outcome.benchmarks,
        trades=outcome.result.trades,
        notes=notes,
    )


def paper_report_html(db_path: DbPath, *, n_boot: int = N_BOOT) -> str:
    """The tear sheet of the paper account: its equity at each step, and its closed trades
    (FIFO, after costs, as the Go / No-Go gate counts them) for the win rate."""
    with closing(open_db(db_path)) as db:
        ledger = PaperLedger(db)
        if ledger.account() is None:
            raise StoreError("no paper account yet: run a step first")
        steps, fills = ledger.steps(), ledger.fills()
    trades = closed_trades(fills)
    return value_report_html(
        step_equity(steps),
        title="Paper account",
        trades=trades,
        wins=trades["pnl"] > 0,
        n_boot=n_boot,
    )
