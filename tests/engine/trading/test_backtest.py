"""The backtest on hand-built price paths: fills, exits, every cost component, statistics,
and the same final equity as vectorbt for the same weights and costs."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from engine.data.synthetic import make_panel
from engine.features.panel import to_wide
from engine.metrics import (
    cagr,
    calmar,
    expected_max_sharpe,
    max_drawdown,
    psr_from_moments,
    sharpe,
    sortino,
)
from engine.trading.backtest import (
    BacktestConfig,
    CostModel,
    buy_and_hold,
    compute_statistics,
    run_backtest,
)
from tests.builders import bars

SPREAD_ONLY = CostModel(
    commission_per_share=0,
    commission_min=0,
    half_spread_bps=5,
    impact_coefficient=0,
    impact_unknown_bps=0,
)


def flat(n: int = 10, price: float = 10.0, volume: float = 1e6) -> list[tuple]:
    return [(price, price, price, price, volume)] * n


def weights_for(panel, day: int, value: float) -> np.ndarray:
    w = np.full(panel.close.shape, np.nan)
    w[day] = value
    return w


def with_exits(panel, weights: np.ndarray):
    """A spread-only backtest with a stop at 9 and a take-profit at 12 on every bar."""
    return run_backtest(
        panel,
        weights,
        stops=np.full(panel.close.shape, 9.0),
        take_profits=np.full(panel.close.shape, 12.0),
        config=BacktestConfig(costs=SPREAD_ONLY),
    )


def test_a_decision_trades_at_the_next_open_with_spread() -> None:
    panel = to_wide(bars(flat(3) + [(11.0, 11.0, 11.0, 11.0, 1e6)] * 3))
    result = run_backtest(
        panel, weights_for(panel, 2, 0.5), config=BacktestConfig(costs=SPREAD_ONLY)
    )
    trade = result.trades.iloc[0]
    # decided at day 2's close; the target is half the equity at the execution price (11)
    assert trade["date"] == panel.dates[3] and trade["shares"] == np.trunc(0.5 * 1e6 / 11.0)
    assert trade["price"] == pytest.approx(11.0 * 1.0005)
    assert trade["spread"] == pytest.approx(trade["shares"] * 11.0 * 0.0005)
    assert result.cash.iloc[3] == pytest.approx(1e6 - trade["shares"] * 11.0 * 1.0005)
    assert result.equity.iloc[-1] == pytest.approx(result.cash.iloc[-1] + trade["shares"] * 11.0)


def test_next_close_execution_and_each_cost_component() -> None:
    closes = [10.0, 10.2, 10.1, 10.4, 10.3] * 5  # 25 sessions with some volatility
    rows = [(c, c, c, c, 50_000.0) for c in closes]
    panel = to_wide(bars(rows))
    costs = CostModel(
        commission_per_share=0.01,
        commission_min=5.0,
        half_spread_bps=10,
        impact_coefficient=0.5,
        impact_unknown_bps=20,
    )
    config = BacktestConfig(execution="next_close", costs=costs, use_exits=False)
    result = run_backtest(panel, weights_for(panel, 22, 0.2), config=config)
    trade = result.trades.iloc[0]
    assert trade["date"] == panel.dates[23]
    shares = np.trunc(0.2 * 1e6 / closes[23])
    returns = np.diff(closes[:23]) / np.array(closes[:22])
    vol = np.std(returns[-20:], ddof=1)
    impact = 0.5 * vol * np.sqrt(shares / 50_000.0)
    assert trade["shares"] == shares
    assert trade["commission"] == pytest.approx(max(5.0, 0.01 * shares))
    assert trade["spread"] == pytest.approx(shares * closes[23] * 0.001)
    assert trade["impact"] == pytest.approx(shares * closes[23] * impact)
    assert trade["price"] == pytest.approx(closes[23] * (1 + 0.001 + impact))
    assert result.costs.iloc[23].sum() == pytest.approx(
        trade[["commission", "spread", "impact"]].sum()
    )
    # no volume history yet: the fallback impact applies, and the minimum commission
    early = run_backtest(panel, weights_for(panel, 1, 0.0001), config=config).trades.iloc[0]
    assert early["impact"] == pytest.approx(early["shares"] * closes[2] * 0.002)
    assert early["commission"] == 5.0


def test_stop_take_profit_gaps_and_no_reentry_until_the_signal_resets() -> None:
    rows = flat(3) + [
        (10, 10.2, 9.9, 10, 1e6),
        (10, 10.1, 8.9, 9.5, 1e6),
        (9.5, 9.6, 9.4, 9.5, 1e6),
    ]
    rows += [(9.5, 9.6, 9.4, 9.5, 1e6)] * 2
    panel = to_wide(bars(rows))
    w = np.full(panel.close.shape, 0.5)
    result = with_exits(panel, w)
    exits = result.trades[result.trades["reason"] == "stop"]
    assert len(exits) == 1 and exits["date"].iloc[0] == panel.dates[4]
    assert exits["price"].iloc[0] == pytest.approx(9.0 * (1 - 0.0005))  # at the stop, less spread
    assert (result.positions.iloc[5:] == 0).all().all()  # weight still 0.5, but blocked
    w[5] = 0.0  # the signal resets ...
    again = with_exits(panel, w)
    assert again.positions.iloc[-1, 0] > 0  # ... and the position comes back

    gap = flat(3) + [(10, 10, 10, 10, 1e6), (8.0, 8.5, 7.9, 8.2, 1e6), (12.5, 13, 12.4, 12.8, 1e6)]
    panel = to_wide(bars(gap))
    w = weights_for(panel, 2, 0.5)
    result = with_exits(panel, w)
    assert result.trades["reason"].tolist() == ["rebalance", "stop"]
    assert result.trades["price"].iloc[1] == pytest.approx(8.0 * (1 - 0.0005))  # gapped: the open


def test_take_profit_and_a_bar_touching_both() -> None:
    rows = flat(3) + [(10, 10, 10, 10, 1e6), (10, 12.5, 9.9, 12, 1e6), (12, 13, 8, 12, 1e6)]
    panel = to_wide(bars(rows))
    tp = with_exits(panel, weights_for(panel, 2, 0.5))
    assert tp.trades["reason"].tolist() == ["rebalance", "take_profit"]
    assert tp.trades["price"].iloc[1] == pytest.approx(12.0 * (1 - 0.0005))
    assert tp.trades["realized_pnl"].iloc[1] > 0
    both = to_wide(bars(flat(3) + [(10, 10, 10, 10, 1e6), (10, 12.5, 8.5, 10, 1e6)]))
    out = with_exits(both, weights_for(both, 2, 0.5))
    assert out.trades["reason"].tolist() == ["rebalance", "stop"]


def test_trailing_stop_follows_the_close() -> None:
    rows = flat(3) + [
        (10, 10, 10, 10, 1e6),
        (11, 11, 11, 11, 1e6),
        (12, 12, 12, 12, 1e6),
        (11.4, 11.5, 10.9, 11, 1e6),
    ]
    panel = to_wide(bars(rows))
    shape = panel.close.shape
    result = run_backtest(
        panel,
        weights_for(panel, 2, 0.5),
        stops=np.full(shape, 9.0),
        take_profits=np.full(shape, 20.0),
        trailing=np.ones(shape, dtype=bool),
        config=BacktestConfig(costs=SPREAD_ONLY),
    )
    exit_ = result.trades.iloc[-1]
    assert exit_["reason"] == "stop" and exit_["date"] == panel.dates[6]
    assert exit_["price"] == pytest.approx(11.0 * (1 - 0.0005))  # 12 - (10 - 9) = 11


def test_buys_are_cut_to_the_cash_available() -> None:
    panel = to_wide(pd.concat([bars(flat(4), ticker="A"), bars(flat(4), ticker="B")]))
    w = np.full(panel.close.shape, np.nan)
    w[1] = [0.7, 0.7]
    result = run_backtest(panel, w, config=BacktestConfig(costs=SPREAD_ONLY))
    assert result.cash.iloc[-1] >= 0
    assert result.positions.iloc[-1, 0] == result.positions.iloc[-1, 1] > 0
    assert result.gross_exposure.iloc[-1] == pytest.approx(1.0, abs=1e-3)


def test_costs_are_never_zero_and_bad_shapes_are_named() -> None:
    with pytest.raises(ValueError, match="needs some cost"):
        CostModel(commission_per_share=0, commission_min=0, half_spread_bps=0)
    panel = to_wide(bars(flat(3)))
    with pytest.raises(ValueError, match="weights have shape"):
        run_backtest(panel, np.zeros((2, 1)))


def test_statistics_by_hand() -> None:
    r = np.array([0.10, -0.05, 0.02, -0.08, 0.03])
    curve = np.cumprod(1 + r)
    assert cagr(r) == pytest.approx(curve[-1] ** (252 / 5) - 1)
    assert sharpe(r) == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(252))
    assert sortino(r) == pytest.approx(
        r.mean() / np.sqrt(np.mean(np.minimum(r, 0) ** 2)) * np.sqrt(252)
    )
    peak = np.maximum.accumulate(np.concatenate([[1.0], curve]))
    assert max_drawdown(r) == pytest.approx((np.concatenate([[1.0], curve]) / peak - 1).min())
    assert calmar(r) == pytest.approx(cagr(r) / abs(max_drawdown(r)))


def test_deflated_sharpe_matches_the_published_example() -> None:
    """Bailey and Lopez de Prado (2014), 'The Deflated Sharpe Ratio', worked example:
    annualized SR 2.5 over 1,250 days, skew -3, kurtosis 10, 100 trials whose annualized
    Sharpe ratios have variance 0.5: SR0 = 0.1132 per day, DSR = 0.9004."""
    sr0 = expected_max_sharpe(100, 0.5 / 250)
    assert sr0 == pytest.approx(0.1132, abs=1e-4)
    dsr = psr_from_moments(2.5 / np.sqrt(250), 1250, -3.0, 10.0, sr0)
    assert dsr == pytest.approx(0.9004, abs=1e-4)
    assert psr_from_moments(0.0, 1000, 0.0, 3.0, 0.0) == pytest.approx(0.5)


def test_statistics_report_intervals_trials_and_benchmark() -> None:
    panel = to_wide(make_panel(8, 400, seed=3).prices)
    rng = np.random.default_rng(2)
    w = rng.uniform(0, 0.12, panel.close.shape)
    result = run_backtest(panel, w)
    stats = compute_statistics(result, n_trials=20, trial_sharpe_variance=0.5 / 252, n_boot=100)
    assert stats["sharpe"].low <= stats["sharpe"].estimate <= stats["sharpe"].high
    assert stats["dsr"] < stats["psr"]  # 20 trials cost evidence
    assert stats["costs"] > 0 and stats["trades"] > 0 and 0 < stats["exposure"] <= 1.0
    hold = buy_and_hold(panel)
    assert (hold.trades["reason"] == "rebalance").all() and len(hold.trades) == 8


def test_final_equity_matches_vectorbt() -> None:
    vbt = pytest.importorskip("vectorbt")
    panel = to_wide(make_panel(20, 300, seed=4).prices)
    rng = np.random.default_rng(3)
    w = rng.uniform(0, 1, panel.close.shape) * (rng.uniform(size=panel.close.shape) < 0.4)
    w = w / np.maximum(w.sum(axis=1, keepdims=True), 1e-12) * 0.9
    config = BacktestConfig(
        execution="next_close", costs=SPREAD_ONLY, whole_shares=False, use_exits=False
    )
    ours = run_backtest(panel, w, config=config).equity
    close = pd.DataFrame(panel.close, index=panel.dates, columns=list(panel.tickers))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = vbt.Portfolio.from_orders(
            close,
            size=pd.DataFrame(w, index=close.index, columns=close.columns).shift(1),
            size_type="targetpercent",
            slippage=0.0005,
            fees=0.0,
            init_cash=1e6,
            cash_sharing=True,
            group_by=True,
            call_seq="auto",
            freq="1D",
        ).value()
    assert abs(ours.iloc[-1] / peer.iloc[-1] - 1) < 1e-6
    np.testing.assert_allclose(ours.to_numpy(), peer.to_numpy(), rtol=1e-9)


def test_trade_statistics_by_hand() -> None:
    rows = flat(3) + [(10, 10, 10, 10, 1e6), (10, 12.5, 9.9, 12, 1e6)] + flat(5, 12.0)
    panel = to_wide(bars(rows))
    result = with_exits(panel, weights_for(panel, 2, 0.5))
    stats = compute_statistics(result, n_boot=50)
    buy, sell = result.trades.iloc[0], result.trades.iloc[1]
    traded = abs(buy["shares"]) * buy["price"] + abs(sell["shares"]) * sell["price"]
    days = len(result.equity) - 1
    assert stats["turnover"] == pytest.approx(traded / result.equity.mean() / (days / 252))
    assert stats["win_rate"].estimate == 1.0 and stats["trades"] == 2
    held_value = buy["shares"] * 10.0  # held through day 3's close only
    assert result.gross_exposure.iloc[3] == pytest.approx(held_value / result.equity.iloc[3])
    assert stats["exposure"] == pytest.approx(result.gross_exposure.mean())
    returns = result.equity.pct_change().dropna().to_numpy()
    assert stats["volatility"].estimate == pytest.approx(np.std(returns, ddof=1) * np.sqrt(252))
    assert stats["costs"] == pytest.approx(buy["spread"] + sell["spread"])
