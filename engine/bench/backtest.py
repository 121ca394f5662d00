"""Backtest benchmark: 155 tickers x 1,260 days of daily target weights, against vectorbt.

Both sides get the same weights (decided at each close, traded at the next close), the
same 5 bps half-spread as price slippage, fractional shares, no exits: the setting in which
they must agree. Both are warmed up first (numba compiles once), then the best of
``repeats`` runs is kept. ``vectorbt`` is a dev tool (requirements-dev.txt).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from engine.data.synthetic import make_panel
from engine.features.panel import to_wide
from engine.trading.backtest import BacktestConfig, CostModel, run_backtest

SPREAD_BPS = 5.0


def _best(run, repeats: int) -> tuple[float, object]:
    result = run()  # warm-up: compiles on a first call
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = run()
        timings.append(time.perf_counter() - started)
    return min(timings), result


def run_backtest_bench(n_tickers: int = 155, n_days: int = 1260, repeats: int = 3) -> dict:
    import vectorbt as vbt  # noqa: PLC0415 - a dev-only peer

    panel = to_wide(make_panel(n_tickers, n_days, seed=7).prices)
    rng = np.random.default_rng(1)
    weights = rng.uniform(0, 1, panel.close.shape) * (rng.uniform(size=panel.close.shape) < 0.3)
    weights = weights / np.maximum(weights.sum(axis=1, keepdims=True), 1e-12) * 0.9
    costs = CostModel(
        commission_per_share=0,
        commission_min=0,
        half_spread_bps=SPREAD_BPS,
        impact_coefficient=0,
        impact_unknown_bps=0,
    )
    config = BacktestConfig("next_close", costs=costs, whole_shares=False, use_exits=False)
    ours_s, ours = _best(lambda: run_backtest(panel, weights, config=config), repeats)
    close = pd.DataFrame(panel.close, index=panel.dates, columns=list(panel.tickers))
    size = pd.DataFrame(weights, index=close.index, columns=close.columns).shift(1)

    def peer():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return vbt.Portfolio.from_orders(
                close,
                size=size,
                size_type="targetpercent",
                slippage=SPREAD_BPS / 1e4,
                fees=0.0,
                init_cash=config.initial_cash,
                cash_sharing=True,
                group_by=True,
                call_seq="auto",
                freq="1D",
            ).value()

    peer_s, peer_equity = _best(peer, repeats)
    full_s, full = _best(lambda: run_backtest(panel, weights), repeats)
    return {
        "tickers": n_tickers,
        "days": n_days,
        "trades": len(ours.trades),
        "backtest_s": round(ours_s, 4),
        "peer": "vectorbt Portfolio.from_orders, targetpercent, cash sharing",
        "peer_s": round(peer_s, 4),
        "ratio": round(ours_s / peer_s, 3),
        "equity_rel_diff": float(abs(ours.equity.iloc[-1] / peer_equity.iloc[-1] - 1)),
        "full_costs_backtest_s": round(full_s, 4),
        "full_costs_final_equity": round(float(full.equity.iloc[-1]), 2),
    }
