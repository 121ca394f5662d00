"""Daily portfolio backtest with costs that are never zero.

A target weight decided at the close of day t is traded on day t+1, at the open or at the
close (``execution``; a bar with no open, as in close-only sources, trades at its close).
Orders rebalance to the target weight of the portfolio's value at
the execution prices, sells before buys; a buy larger than the cash left is cut to what the
cash pays for. Stops and take-profits set at entry trigger on later bars' low/high (a bar
that touches both counts as the stop; a gap through fills at the open). After an exit the
ticker is not re-entered until its target weight has gone to zero or changed side.

Costs per order: commission per share with a minimum, half the bid-ask spread (fixed bps,
or a per-day estimate such as Corwin-Schultz), and market impact that grows with the
square root of participation in the 20-day average volume (a fixed fallback where volume
is unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from engine.features.panel import WidePanel, pct_change, rolling_mean, rolling_std, shift
from engine.metrics import (
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
from engine.trading.simulation import REASONS, simulate
from engine.trading.sizing import SizingParams, sized_weight_arrays

Execution = Literal["next_open", "next_close"]
TRADE_COLUMNS = (
    "date",
    "ticker",
    "shares",
    "price",
    "reason",
    "commission",
    "spread",
    "impact",
    "realized_pnl",
)


@dataclass(frozen=True)
class CostModel:
    commission_per_share: float = 0.005
    commission_min: float = 1.0
    half_spread_bps: float = 5.0
    impact_coefficient: float = 0.1  # fraction = coef x daily vol x sqrt(shares / ADV)
    impact_unknown_bps: float = 10.0  # when the ticker has no volume to measure against

    def __post_init__(self) -> None:
        values = (
            self.commission_per_share,
            self.commission_min,
            self.half_spread_bps,
            self.impact_coefficient,
            self.impact_unknown_bps,
        )
        if any(v < 0 for v in values):
            raise ValueError("cost parameters cannot be negative")
        if (
            self.commission_per_share == 0
            and self.commission_min == 0
            and self.half_spread_bps == 0
        ):
            raise ValueError("a backtest needs some cost: commission or spread must be above 0")


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
        )


def _trade_frame(log: tuple, panel: WidePanel) -> pd.DataFrame:
    """One row per fill from the simulation's trade log."""
    days, columns, reasons, values = log
    return pd.DataFrame(
        {
            "date": panel.dates[days],
            "ticker": pd.Categorical.from_codes(columns, categories=list(panel.tickers)),
            "shares": values[:, 0],
            "price": values[:, 1],
            "reason": pd.Categorical.from_codes(reasons.astype(int), categories=list(REASONS)),
            "commission": values[:, 2],
            "spread": values[:, 3],
            "impact": values[:, 4],
            "realized_pnl": values[:, 5],
        },
        columns=list(TRADE_COLUMNS),
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
    """Simulate target ``weights`` (T x N, decided at each close; NaN = no decision).

    ``stops`` / ``take_profits`` (T x N price levels) apply to positions opened from that
    decision; ``trailing`` (T x N bool) moves a long stop up (short: down) with the close.
    ``half_spread`` (T x N fractions) overrides the fixed half-spread, e.g. Corwin-Schultz.
    """
    config = config or BacktestConfig()
    shape = panel.close.shape
    if weights.shape != shape:
        raise ValueError(f"weights have shape {weights.shape}, prices {shape}")
    nan = np.full(shape, np.nan)
    stops = nan if stops is None or not config.use_exits else stops
    take_profits = nan if take_profits is None or not config.use_exits else take_profits
    trailing = np.zeros(shape, dtype=bool) if trailing is None else trailing
    spread = (
        np.full(shape, config.costs.half_spread_bps / 1e4)
        if half_spread is None
        else np.nan_to_num(half_spread, nan=config.costs.half_spread_bps / 1e4)
    )
    daily_vol = shift(rolling_std(pct_change(panel.close), 20, ddof=1))
    adv = shift(rolling_mean(panel.volume, 20))
    with np.errstate(divide="ignore", invalid="ignore"):
        impact_scale = config.costs.impact_coefficient * daily_vol / np.sqrt(adv)
    measured = np.isfinite(impact_scale)
    fallback = config.costs.impact_unknown_bps / 1e4

    # a close-only source has no open to trade at: such a bar trades at its close
    opens = np.where(np.isfinite(panel.open), panel.open, panel.close)
    equity, cash, held, costs, *log = simulate(
        opens,
        panel.high,
        panel.low,
        panel.close,
        np.asarray(weights, dtype=float),
        np.asarray(stops, dtype=float),
        np.asarray(take_profits, dtype=float),
        np.asarray(trailing, dtype=bool),
        spread,
        impact_scale,
        measured,
        fallback,
        np.array([config.costs.commission_per_share, config.costs.commission_min]),
        config.initial_cash,
        config.execution == "next_open",
        config.whole_shares,
        config.use_exits,
    )
    index = panel.dates
    marks = pd.DataFrame(panel.close).ffill().to_numpy()
    gross = np.nansum(np.abs(held) * marks, axis=1) / equity
    return BacktestResult(
        equity=pd.Series(equity, index=index, name="equity"),
        cash=pd.Series(cash, index=index, name="cash"),
        positions=pd.DataFrame(held, index=index, columns=list(panel.tickers)),
        trades=_trade_frame(tuple(log), panel),
        costs=pd.DataFrame(costs, index=index, columns=["commission", "spread", "impact"]),
        gross_exposure=pd.Series(gross, index=index, name="gross_exposure"),
        config=config,
    )


def backtest_forecasts(
    panel: WidePanel,
    predictions: pd.DataFrame,
    win_loss: float,
    *,
    sizing: SizingParams,
    config: BacktestConfig,
    half_spread: np.ndarray | None = None,
) -> BacktestResult:
    """Size each date's forecasts (``p`` and ``regime_id`` by (ticker, date)) and trade them
    with their stops, take-profits and trailing flags."""
    weights, stops, targets, trailing = sized_weight_arrays(panel, predictions, win_loss, sizing)
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
    block: int = 20,
    n_boot: int = 300,
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

    def interval(statistic) -> Interval:
        return bootstrap_interval(statistic, returns, block=block, n_boot=n_boot, seed=seed)

    closes = result.trades[result.trades["realized_pnl"] != 0]
    traded = (result.trades["shares"].abs() * result.trades["price"]).sum()
    years = len(returns) / TRADING_DAYS
    return {
        "cagr": interval(cagr),
        "volatility": interval(annual_volatility),
        "sharpe": interval(sharpe),
        "sortino": interval(sortino),
        "max_drawdown": interval(max_drawdown),
        "calmar": interval(calmar),
        "win_rate": bootstrap_interval(
            np.mean, (closes["realized_pnl"] > 0).to_numpy(dtype=float), n_boot=n_boot, seed=seed
        )
        if len(closes)
        else Interval(np.nan, np.nan, np.nan),
        "trades": len(result.trades),
        "turnover": float(traded / result.equity.mean() / years) if years > 0 else np.nan,
        "exposure": float(result.gross_exposure.mean()),
        "psr": probabilistic_sharpe(returns),
        "dsr": deflated_sharpe(returns, n_trials, trial_sharpe_variance),
        "n_trials": n_trials,
        "costs": float(result.costs.to_numpy().sum()),
        "days": len(returns),
    }
