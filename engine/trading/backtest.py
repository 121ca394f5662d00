"""Daily portfolio backtest with costs that are never zero.

The fills, exits and costs are the execution model's (engine.trading.execution, where the
rules are written down): the backtest runs it from a flat book over the whole panel. The
paper step runs the same model one session at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.features.panel import WidePanel
from engine.metrics import (
    IC_BLOCK,
    N_BOOT,
    TRADING_DAYS,
    Interval,
    annual_volatility,
    bootstrap_interval,
    cagr,
    calmar,
    daily_returns,
    deflated_sharpe,
    max_drawdown,
    probabilistic_sharpe,
    sharpe,
    sortino,
)
from engine.trading.construction import KELLY, ConstructionParams, constructed_weight_arrays
from engine.trading.execution import (
    TRADE_COLUMNS,
    CostModel,
    Execution,
    ExecutionState,
    execute,
)
from engine.trading.risk_construction import RiskInputs
from engine.trading.sizing import SizingParams

__all__ = [
    "TRADE_COLUMNS",
    "BacktestConfig",
    "BacktestResult",
    "CostModel",
    "backtest_forecasts",
    "buy_and_hold",
    "compute_relative_statistics",
    "compute_return_statistics",
    "compute_statistics",
    "run_backtest",
]


@dataclass(frozen=True)
class BacktestConfig:
    execution: Execution = "next_open"
    initial_cash: float = 1_000_000.0
    costs: CostModel = field(default_factory=CostModel)
    whole_shares: bool = True
    use_exits: bool = True

    def __post_init__(self) -> None:
        if self.execution not in ("next_open", "next_close"):
            raise ValueError("execution must be 'next_open' or 'next_close'")
        if self.initial_cash <= 0:
            raise ValueError("initial cash must be positive")


@dataclass(frozen=True)
class BacktestResult:
    """Equity and cash by date, shares held (dates x tickers), every trade, daily costs
    by component, and gross exposure."""

    equity: pd.Series
    cash: pd.Series
    positions: pd.DataFrame
    trades: pd.DataFrame
    costs: pd.DataFrame
    gross_exposure: pd.Series  # sum of |position value| over equity, by date
    config: BacktestConfig
    state: ExecutionState | None = None  # after the last day (the whole run, not a window)

    def between(self, start: pd.Timestamp, end: pd.Timestamp) -> BacktestResult:
        """The same simulation seen over [start, end] only (statistics of a sub-window)."""
        dates = self.trades["date"]
        return BacktestResult(
            equity=self.equity.loc[start:end],
            cash=self.cash.loc[start:end],
            positions=self.positions.loc[start:end],
            trades=self.trades[(dates >= start) & (dates <= end)],
            costs=self.costs.loc[start:end],
            gross_exposure=self.gross_exposure.loc[start:end],
            config=self.config,
            state=self.state,
        )


def run_backtest(
    panel: WidePanel,
    weights: np.ndarray,
    *,
    stops: np.ndarray | None = None,
    take_profits: np.ndarray | None = None,
    trailing: np.ndarray | None = None,
    half_spread: np.ndarray | None = None,
    config: BacktestConfig | None = None,
) -> BacktestResult:
    """Simulate target ``weights`` (T x N, decided at each close; NaN = no decision) from a
    flat book with ``config.initial_cash``.

    ``stops`` / ``take_profits`` (T x N price levels) apply to positions opened from that
    decision; ``trailing`` (T x N bool) moves a long stop up (short: down) with the close.
    ``half_spread`` (T x N fractions) overrides the fixed half-spread, e.g. Corwin-Schultz.
    """
    config = config or BacktestConfig()
    run = execute(
        panel,
        np.asarray(weights, dtype=float),
        state=ExecutionState.empty(panel.tickers, config.initial_cash),
        costs=config.costs,
        stops=stops,
        take_profits=take_profits,
        trailing=trailing,
        half_spread=half_spread,
        execution=config.execution,
        whole_shares=config.whole_shares,
        use_exits=config.use_exits,
    )
    marks = pd.DataFrame(panel.close).ffill().to_numpy()
    gross = np.nansum(np.abs(run.positions.to_numpy()) * marks, axis=1) / run.equity.to_numpy()
    return BacktestResult(
        equity=run.equity,
        cash=run.cash,
        positions=run.positions,
        trades=run.trades,
        costs=run.costs,
        gross_exposure=pd.Series(gross, index=panel.dates, name="gross_exposure"),
        config=config,
        state=run.state,
    )


def backtest_forecasts(
    panel: WidePanel,
    predictions: pd.DataFrame,
    win_loss: float,
    *,
    sizing: SizingParams,
    config: BacktestConfig,
    half_spread: np.ndarray | None = None,
    construction: ConstructionParams | None = None,
    risk: RiskInputs | None = None,
    view_scale: float = np.nan,
) -> BacktestResult:
    """Turn each date's forecasts (``p``, ``regime_id`` and, where the run has one,
    ``score`` by (ticker, date)) into target weights by ``construction`` (None: Kelly on
    every forecast, ``KELLY``) and trade them with their stops, take-profits and trailing
    flags through the execution model. ``risk`` (the risk model, as of each decision
    date) and ``view_scale`` (black_litterman's view size) go to ``construct_row``."""
    weights, stops, targets, trailing = constructed_weight_arrays(
        panel, predictions, win_loss, sizing, construction or KELLY, risk=risk,
        view_scale=view_scale,
    )  # fmt: skip
    return run_backtest(
        panel,
        weights,
        stops=stops,
        take_profits=targets,
        trailing=trailing,
        half_spread=half_spread,
        config=config,
    )


def buy_and_hold(panel: WidePanel, config: BacktestConfig | None = None) -> BacktestResult:
    """Equal weights bought on the first day every ticker trades together, then held."""
    weights = np.full(panel.close.shape, np.nan)
    first = int(np.argmax(np.isfinite(panel.close).all(axis=1)))
    weights[first] = 1.0 / panel.close.shape[1] * 0.999  # leave room for the buy costs
    return run_backtest(panel, weights, config=config or BacktestConfig(use_exits=False))


def compute_statistics(
    result: BacktestResult,
    *,
    n_trials: int = 1,
    trial_sharpe_variance: float = 0.0,
    block: int = IC_BLOCK,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict[str, Interval | float]:
    """Performance with moving-block bootstrap intervals of the daily returns (arch's
    ``MovingBlockBootstrap``, blocks of ``block`` consecutive days); the trade win rate
    resamples closed trades iid.

    ``n_trials`` counts every backtest and ablation run behind this one (the store keeps
    the count); the Deflated Sharpe discounts the Sharpe by the best a skill-less search of
    that many trials would find. ``trial_sharpe_variance`` is the variance of those
    trials' per-period Sharpe ratios.
    """
    returns = daily_returns(result.equity)
    closes = result.trades[result.trades["realized_pnl"] != 0]
    traded = (result.trades["shares"].abs() * result.trades["price"]).sum()
    years = len(returns) / TRADING_DAYS
    wins = (closes["realized_pnl"] > 0).to_numpy(dtype=float)
    resample = {"block": block, "n_boot": n_boot, "seed": seed}
    return {
        **compute_return_statistics(result.equity, wins, **resample),
        "trades": len(result.trades),
        "turnover": float(traded / result.equity.mean() / years) if years > 0 else np.nan,
        "exposure": float(result.gross_exposure.mean()),
        "psr": probabilistic_sharpe(returns),
        "dsr": deflated_sharpe(returns, n_trials, trial_sharpe_variance),
        "n_trials": n_trials,
        "costs": float(result.costs.to_numpy().sum()),
        "days": len(returns),
    }


def compute_return_statistics(
    equity: pd.Series,
    wins: np.ndarray | None = None,
    *,
    block: int = IC_BLOCK,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict[str, Interval]:
    """CAGR, volatility, Sharpe, Sortino, max drawdown and Calmar of an equity (or value)
    series by date, with moving-block bootstrap intervals of its daily returns (blocks of
    ``block`` days); the win rate of ``wins`` (1 for each closed trade that made money, 0
    for each that did not) resampled iid, NaN without any."""
    returns = daily_returns(equity)

    def interval(statistic) -> Interval:
        return bootstrap_interval(statistic, returns, block=block, n_boot=n_boot, seed=seed)

    return {
        "cagr": interval(cagr),
        "volatility": interval(annual_volatility),
        "sharpe": interval(sharpe),
        "sortino": interval(sortino),
        "max_drawdown": interval(max_drawdown),
        "calmar": interval(calmar),
        "win_rate": bootstrap_interval(np.mean, wins, n_boot=n_boot, seed=seed)
        if wins is not None and len(wins)
        else Interval(np.nan, np.nan, np.nan),
    }


def compute_relative_statistics(
    result: BacktestResult,
    benchmarks: dict[str, pd.Series],
    *,
    block: int = IC_BLOCK,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict[str, Interval]:
    """Excess return and information ratio against each benchmark, with moving-block
    bootstrap intervals of the daily excess returns (as ``compute_statistics``).

    Parameters
    ----------
    benchmarks : dict of name -> equity Series by date (e.g. ``"universe"``, ``"index"``)
        Compared on the dates both curves have.

    Returns
    -------
    ``excess_<name>``: annualized mean of the daily excess return (strategy minus
    benchmark, times ``TRADING_DAYS``); ``ir_<name>``: the information ratio, the
    annualized mean of the daily excess over its standard deviation (``sharpe`` of the
    excess: one implementation).
    """
    strategy = result.equity.pct_change()
    out: dict[str, Interval] = {}
    for name, equity in benchmarks.items():
        excess = (strategy - equity.reindex(strategy.index).pct_change()).dropna().to_numpy()

        def interval(statistic, excess=excess) -> Interval:
            if len(excess) < 2:
                return Interval(np.nan, np.nan, np.nan)
            return bootstrap_interval(statistic, excess, block=block, n_boot=n_boot, seed=seed)

        out[f"excess_{name}"] = interval(lambda r: float(np.mean(r) * TRADING_DAYS))
        out[f"ir_{name}"] = interval(sharpe)
    return out
