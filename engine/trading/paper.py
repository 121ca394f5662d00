"""Paper trading rules: fills at the next open plus slippage, orders from sized forecasts,
and the guardrails (daily loss limit, circuit breaker, stale data). Pure functions; the
store work happens in ``engine.workflows.paper``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.trading.backtest import CostModel


@dataclass(frozen=True)
class PaperParams:
    initial_cash: float = 1_000_000.0
    slippage_bps: float = 5.0
    costs: CostModel = CostModel()
    daily_loss_limit: float = 0.02  # a day's loss beyond this halts new orders that day
    circuit_breaker: float = 0.10  # a fall from the equity peak beyond this pauses trading


@dataclass(frozen=True)
class Guardrail:
    """Whether new orders may be placed, and why not."""

    allow_orders: bool
    halt_account: bool
    reason: str


def client_order_id(step_date: pd.Timestamp, ticker: str) -> str:
    """One order per ticker per step: re-running a step cannot create a second one."""
    return f"{pd.Timestamp(step_date):%Y%m%d}-{ticker}"


def fill_for(order: pd.Series, open_price: float, day: pd.Timestamp, params: PaperParams) -> dict:
    """The fill of an open order at this session's open plus slippage, with commission."""
    quantity = float(order["quantity"])
    price = open_price * (1.0 + np.sign(quantity) * params.slippage_bps / 1e4)
    costs = params.costs
    fees = max(costs.commission_min, costs.commission_per_share * abs(quantity))
    return {
        "fill_id": f"fill-{order['client_order_id']}",
        "client_order_id": order["client_order_id"],
        "fill_date": f"{pd.Timestamp(day):%Y-%m-%d}",
        "ticker": order["ticker"],
        "quantity": quantity,
        "price": float(price),
        "fees": float(fees),
    }


def equity_of(cash: float, positions: pd.DataFrame, marks: pd.Series) -> float:
    """Cash plus every position at its mark."""
    marked = (
        positions.set_index("ticker")["quantity"] * marks.reindex(positions["ticker"]).to_numpy()
    )
    return float(cash + marked.sum())


def check_guardrails(
    equity: float, previous_equity: float | None, peak: float, halted: bool, params: PaperParams
) -> Guardrail:
    """Circuit breaker first (it pauses until the user resumes), then the daily loss limit."""
    if halted:
        return Guardrail(False, True, "trading paused by the circuit breaker: resume to continue")
    if peak > 0 and equity / peak - 1.0 <= -params.circuit_breaker:
        return Guardrail(
            False, True, f"circuit breaker: equity {equity / peak - 1:.1%} from its peak"
        )
    if previous_equity and equity / previous_equity - 1.0 <= -params.daily_loss_limit:
        change = equity / previous_equity - 1.0
        return Guardrail(False, False, f"daily loss limit: {change:.1%} today")
    return Guardrail(True, False, "")


def plan_orders(
    sized: pd.DataFrame,
    held: pd.Series,
    forecasts: pd.DataFrame,
    step_date: pd.Timestamp,
    run_id: str,
) -> list[dict]:
    """Orders that move each ticker from ``held`` shares to the sized target shares."""
    orders = []
    for ticker, row in sized.iterrows():
        delta = float(row["shares"]) - float(held.get(ticker, 0.0))
        if delta == 0:
            continue
        forecast = forecasts.loc[ticker]
        orders.append(
            {
                "client_order_id": client_order_id(step_date, ticker),
                "step_date": f"{pd.Timestamp(step_date):%Y-%m-%d}",
                "ticker": ticker,
                "quantity": delta,
                "stop": None if pd.isna(row["stop"]) else float(row["stop"]),
                "take_profit": None if pd.isna(row["take_profit"]) else float(row["take_profit"]),
                "p_up": float(forecast["p_up"]),
                "run_id": run_id,
                "reasons": str(forecast["reasons"]),
            }
        )
    return orders
