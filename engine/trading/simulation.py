"""The backtest's day-by-day loop, compiled with numba (see engine.trading.backtest for the rules).

Scalar loops over days and tickers: the same arithmetic as a reader would do by hand,
fast enough that a 155-ticker, 5-year daily simulation takes milliseconds.
"""

from __future__ import annotations

import numpy as np
from numba import njit

REBALANCE, STOP, TAKE_PROFIT = 0, 1, 2
REASONS = ("rebalance", "stop", "take_profit")


@njit(cache=True, error_model="numpy")
def _round(shares, whole):
    if not whole:
        return shares
    return np.trunc(shares + np.sign(shares) * 1e-9)


@njit(cache=True, error_model="numpy")
def _fill(st, pricing, log, i, j, q, price, reason):  # noqa: PLR0917 - numba kernels take flat arguments
    """Trade ``q`` shares (signed) of ticker j at ``price`` plus spread, impact, commission.

    ``st`` is (cash, shares, cost basis); ``pricing`` is (half spread, impact scale, impact
    measured, fallback impact, (commission per share, minimum)); ``log`` collects fills.
    """
    cash, shares, basis = st[0], st[1], st[2]
    half_spread, impact_scale, measured, fallback, fees = pricing
    side = np.sign(q)
    impact = impact_scale[i, j] * np.sqrt(abs(q)) if measured[i, j] else fallback
    spread = half_spread[i, j]
    fill = price * (1.0 + side * (spread + impact))
    commission = max(fees[1], fees[0] * abs(q))
    cash[0] -= q * fill + commission
    before = shares[j]
    after = before + q
    realized = 0.0
    if before == 0.0 or np.sign(before) == side:
        basis[j] = (abs(before) * basis[j] + abs(q) * fill) / abs(after)
    else:
        closed = min(abs(q), abs(before))
        realized = closed * np.sign(before) * (fill - basis[j])
        if abs(q) > abs(before):
            basis[j] = fill
    if after == 0.0:
        basis[j] = 0.0
    shares[j] = after
    counter = log[0]
    n = counter[0]
    counter[0] = n + 1
    log_i, log_j, log_reason, values = log[1], log[2], log[3], log[4]
    log_i[n], log_j[n], log_reason[n] = i, j, reason
    values[n, 0], values[n, 1], values[n, 2] = q, fill, commission
    values[n, 3] = abs(q) * price * spread
    values[n, 4] = abs(q) * price * impact
    values[n, 5] = realized


@njit(cache=True, error_model="numpy")
def simulate(  # noqa: PLR0917 - numba kernels take flat arguments
    open_,
    high,
    low,
    close,
    weights,
    stops,
    targets,
    trailing,
    half_spread,
    impact_scale,
    measured,
    fallback,
    fees,
    initial_cash,
    next_open,
    whole,
    use_exits,
):
    """Run the simulation; returns (equity, cash, positions, daily costs, trade log)."""
    n_days, n = close.shape
    cash = np.array([initial_cash])
    shares, basis = np.zeros(n), np.zeros(n)
    stop_level, target_level, risk = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    trail = np.zeros(n, dtype=np.bool_)
    blocked = np.zeros(n, dtype=np.bool_)
    exit_side = np.zeros(n)
    active_from = np.zeros(n, dtype=np.int64)
    last = np.full(n, np.nan)
    capacity = 2 * n_days * n + 1
    log = (
        np.zeros(1, np.int64),
        np.empty(capacity, np.int64),
        np.empty(capacity, np.int64),
        np.empty(capacity, np.int8),
        np.empty((capacity, 6)),
    )
    st = (cash, shares, basis)
    pricing = (half_spread, impact_scale, measured, fallback, fees)
    equity, cash_out = np.empty(n_days), np.empty(n_days)
    positions = np.empty((n_days, n))
    costs = np.zeros((n_days, 3))
    delta = np.zeros(n)
    for i in range(n_days):
        start = log[0][0]
        for phase in range(2):
            if i == 0:
                break
            rebalance_now = (phase == 0) == next_open
            if rebalance_now:
                price = open_[i] if next_open else close[i]
                d = i - 1
                value = cash[0]
                for j in range(n):
                    mark = price[j] if np.isfinite(price[j]) else last[j]
                    if shares[j] != 0.0 and np.isfinite(mark):
                        value += shares[j] * mark
                need = 0.0
                for j in range(n):
                    delta[j] = 0.0
                    if not (np.isfinite(price[j]) and np.isfinite(weights[d, j])):
                        continue
                    want = weights[d, j]
                    if want == 0.0 or np.sign(want) != exit_side[j]:
                        blocked[j] = False
                    if blocked[j]:
                        want = 0.0
                    delta[j] = _round(want * value / price[j], whole) - shares[j]
                    if delta[j] > 0:
                        need += delta[j] * price[j] * (1.0 + half_spread[i, j])
                before = shares.copy()
                for j in range(n):
                    if delta[j] < 0:
                        _fill(st, pricing, log, i, j, delta[j], price[j], REBALANCE)
                scale = 1.0
                if need > cash[0]:  # not enough cash: every buy is cut in the same proportion
                    scale = max(cash[0], 0.0) / need * (1.0 - 1e-6)
                for j in range(n):
                    if delta[j] > 0:
                        q = _round(delta[j] * scale, whole) if scale < 1.0 else delta[j]
                        if q > 0:
                            _fill(st, pricing, log, i, j, q, price[j], REBALANCE)
                for j in range(n):
                    if shares[j] != 0.0 and (
                        before[j] == 0.0 or np.sign(before[j]) != np.sign(shares[j])
                    ):
                        stop_level[j], target_level[j] = stops[d, j], targets[d, j]
                        risk[j] = abs(price[j] - stops[d, j])
                        trail[j] = trailing[d, j]
                        active_from[j] = i if next_open else i + 1
            elif use_exits:
                for j in range(n):
                    if shares[j] == 0.0 or active_from[j] > i:
                        continue
                    side = np.sign(shares[j])
                    lo = low[i, j] if np.isfinite(low[i, j]) else close[i, j]
                    hi = high[i, j] if np.isfinite(high[i, j]) else close[i, j]
                    op = open_[i, j] if np.isfinite(open_[i, j]) else close[i, j]
                    if not np.isfinite(lo):
                        continue
                    hit, level, reason, fill = False, 0.0, STOP, 0.0
                    if np.isfinite(stop_level[j]) and (
                        lo <= stop_level[j] if side > 0 else hi >= stop_level[j]
                    ):
                        hit, level = True, stop_level[j]
                        fill = min(op, level) if side > 0 else max(op, level)
                    elif np.isfinite(target_level[j]) and (
                        hi >= target_level[j] if side > 0 else lo <= target_level[j]
                    ):
                        hit, level, reason = True, target_level[j], TAKE_PROFIT
                        fill = max(op, level) if side > 0 else min(op, level)
                    if hit:
                        exit_side[j] = side
                        _fill(st, pricing, log, i, j, -shares[j], fill, reason)
                        blocked[j] = True
                        stop_level[j], target_level[j] = np.nan, np.nan
        total = cash[0]
        for j in range(n):
            if np.isfinite(close[i, j]):
                last[j] = close[i, j]
                if use_exits and trail[j] and shares[j] != 0.0:
                    moved = close[i, j] - np.sign(shares[j]) * risk[j]
                    if (shares[j] > 0 and moved > stop_level[j]) or (
                        shares[j] < 0 and moved < stop_level[j]
                    ):
                        stop_level[j] = moved
            if shares[j] != 0.0 and np.isfinite(last[j]):
                total += shares[j] * last[j]
        equity[i], cash_out[i] = total, cash[0]
        positions[i] = shares
        for k in range(start, log[0][0]):
            costs[i, 0] += log[4][k, 2]
            costs[i, 1] += log[4][k, 3]
            costs[i, 2] += log[4][k, 4]
    n_trades = log[0][0]
    return (
        equity,
        cash_out,
        positions,
        costs,
        log[1][:n_trades],
        log[2][:n_trades],
        log[3][:n_trades],
        log[4][:n_trades],
    )
