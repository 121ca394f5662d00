"""Paper trading through the store: one step per session, all of it in one transaction."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.calendar import last_session_on_or_before
from engine.data.universe import sector_of
from engine.features.regime import REGIME_NAMES
from engine.trading.paper import PaperParams, check_guardrails, equity_of, fill_for, plan_orders
from engine.trading.sizing import (
    SizingParams,
    average_true_range,
    ewma_volatility,
    garch_volatility,
    size_positions,
    win_loss_ratio,
)
from engine.workflows.data import DbPath, load_prices
from engine.workflows.forecast import forecast
from engine.workflows.runs import load_model_as_of, run_for_as_of
from engine.workflows.snapshot import load_snapshot
from store.db import StoreError, open_db, write_transaction
from store.paper import PaperLedger


@dataclass(frozen=True)
class PaperStepResult:
    """What a step did. ``status``: done, already done, or blocked (nothing written)."""

    step_date: pd.Timestamp
    status: str
    message: str
    fills: int = 0
    orders: int = 0
    equity: float = np.nan
    guardrail: str = ""


def _bars(prices: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    return prices[prices["date"] == day].set_index("ticker")


def _stale(prices: pd.DataFrame, tickers: set[str], day: pd.Timestamp) -> list[str]:
    """Tickers without a bar on the step's session (the step needs it to fill and mark)."""
    latest = prices.groupby("ticker")["date"].max()
    return sorted(
        f"{t} (last close {latest[t]:%Y-%m-%d})" if t in latest else f"{t} (no data)"
        for t in tickers
        if t not in latest or latest[t] < day
    )


def _exits(positions: pd.DataFrame, today: pd.DataFrame) -> set[str]:
    """Held tickers whose stop or take-profit today's range (or close) reached."""
    hit = set()
    for row in positions.itertuples():
        if row.ticker not in today.index:
            continue
        bar = today.loc[row.ticker]
        low = bar["low"] if np.isfinite(bar["low"]) else bar["close"]
        high = bar["high"] if np.isfinite(bar["high"]) else bar["close"]
        long = row.quantity > 0
        stop_hit = (
            row.stop is not None
            and np.isfinite(row.stop)
            and (low <= row.stop if long else high >= row.stop)
        )
        target = row.take_profit
        target_hit = (
            target is not None
            and np.isfinite(target)
            and (high >= target if long else low <= target)
        )
        if stop_hit or target_hit:
            hit.add(row.ticker)
    return hit


def _book(
    db_path: DbPath, tickers: list[str], day: pd.Timestamp, run_id: str, sizing: SizingParams
):
    """Forecasts and the sizing inputs for ``tickers`` as of ``day``."""
    forecasts = forecast(db_path, load_snapshot(db_path, tickers, day), run_id=run_id)
    history = load_prices(db_path, list(forecasts.index), end=day)
    closes = history.pivot(index="date", columns="ticker", values="close")
    returns = closes.pct_change(fill_method=None)
    if sizing.vol_model == "garch":
        volatility = pd.Series({t: garch_volatility(returns[t]) for t in returns.columns})
    else:
        volatility = ewma_volatility(returns).iloc[-1]
    book = pd.DataFrame(
        {
            "p_up": forecasts["p_up"],
            "price": closes.iloc[-1].reindex(forecasts.index),
            "atr": average_true_range(history).reindex(forecasts.index),
            "volatility": volatility.reindex(forecasts.index),
            "regime_id": [
                float(REGIME_NAMES.index(n)) if n in REGIME_NAMES else np.nan
                for n in forecasts["regime"]
            ],
            "sector": [sector_of(t) for t in forecasts.index],
        }
    )
    return forecasts, book


def paper_step(
    db_path: DbPath,
    step_date: pd.Timestamp,
    tickers: list[str],
    *,
    run_id: str | None = None,
    params: PaperParams | None = None,
    sizing: SizingParams | None = None,
) -> PaperStepResult:
    """Run the paper step for one session: fill yesterday's orders at today's open (the
    close where a source has no open) plus slippage, mark to market, apply the guardrails,
    and place tomorrow's orders from the model's sized forecasts. Every write of the step
    lands in one transaction; running the same step twice changes nothing."""
    params = params or PaperParams()
    day = last_session_on_or_before(pd.Timestamp(step_date))
    key = f"{day:%Y-%m-%d}"
    run_id = run_for_as_of(db_path, day, run_id).run_id  # before anything is written
    with closing(open_db(db_path)) as db:
        ledger = PaperLedger(db)
        ledger.open_account(params.initial_cash)
        if ledger.step_done(key):
            return PaperStepResult(day, "already done", f"The step for {key} has already run.")
        account, positions, pending = ledger.account(), ledger.positions(), ledger.orders("open")
        steps, cash = ledger.steps(), ledger.cash()
    needed = set(tickers) | set(positions["ticker"]) | set(pending["ticker"])
    prices = load_prices(db_path, sorted(needed), end=day)
    stale = _stale(prices, needed, day)
    if stale:
        return PaperStepResult(
            day, "blocked", f"Stale data blocks the step for {key}: {', '.join(stale)}."
        )
    today = _bars(prices, day)
    fills = []
    for _, order in pending.iterrows():
        bar = today.loc[order["ticker"]]
        price = bar["open"] if np.isfinite(bar["open"]) else bar["close"]
        fills.append(fill_for(order, float(price), day, params))
    held = positions.set_index("ticker")["quantity"].copy()
    for fill in fills:
        held[fill["ticker"]] = held.get(fill["ticker"], 0.0) + fill["quantity"]
        cash -= fill["quantity"] * fill["price"] + fill["fees"]
    held = held[held != 0]
    marks = today["close"]
    equity = equity_of(cash, held.rename("quantity").rename_axis("ticker").reset_index(), marks)
    previous = float(steps["equity"].iloc[-1]) if len(steps) else account["initial_cash"]
    peak = max([account["initial_cash"], equity, *steps["peak_equity"].tolist()])
    guard = check_guardrails(equity, previous, peak, account["halted"], params)
    orders = []
    if guard.allow_orders:
        model, record = load_model_as_of(db_path, day, run_id)
        sizing = sizing or SizingParams()
        forecasts, book = _book(db_path, tickers, day, record.run_id, sizing)
        sized = size_positions(book, equity, win_loss_ratio(model.outcome_returns_), sizing)
        exited = _exits(positions, today)
        sized.loc[sized.index.isin(exited), "shares"] = 0.0
        for ticker in set(held.index) - set(sized.index):  # held but no longer watched: close
            sized.loc[ticker, ["shares", "stop", "take_profit"]] = [0.0, np.nan, np.nan]
        orders = plan_orders(sized, held, forecasts.reindex(sized.index), day, record.run_id)
    with closing(open_db(db_path)) as db, write_transaction(db):
        ledger = PaperLedger(db)
        if ledger.step_done(key):  # another process finished this step meanwhile
            return PaperStepResult(day, "already done", f"The step for {key} has already run.")
        for fill in fills:
            ledger.record_fill(fill)
            order = pending.set_index("client_order_id").loc[fill["client_order_id"]]
            ledger.set_levels(fill["ticker"], order["stop"], order["take_profit"])
        for order in orders:
            ledger.add_order(order)
        if guard.halt_account:
            ledger.set_halt(True, guard.reason)
        ledger.record_step(
            {
                "step_date": key,
                "equity": equity,
                "cash": cash,
                "peak_equity": peak,
                "orders": len(orders),
                "fills": len(fills),
                "guardrail": guard.reason,
            }
        )
    message = f"Step {key}: {len(fills)} fill(s), {len(orders)} new order(s), equity {equity:,.2f}."
    return PaperStepResult(day, "done", message, len(fills), len(orders), equity, guard.reason)


def resume_paper_trading(db_path: DbPath) -> None:
    """Clear the circuit breaker (the user's decision, recorded as such)."""
    with closing(open_db(db_path)) as db:
        PaperLedger(db).set_halt(False, "")


def load_paper_state(db_path: DbPath) -> dict:
    """Account, cash, positions, orders, fills and step history of the paper account."""
    with closing(open_db(db_path)) as db:
        ledger = PaperLedger(db)
        if ledger.account() is None:
            raise StoreError("no paper account yet: run a step first")
        return {
            "account": ledger.account(),
            "cash": ledger.cash(),
            "positions": ledger.positions(),
            "orders": ledger.orders(),
            "fills": ledger.fills(),
            "steps": ledger.steps(),
            "replay": ledger.replay(),
        }


def set_order_note(db_path: DbPath, client_order_id: str, note: str) -> None:
    with closing(open_db(db_path)) as db:
        PaperLedger(db).set_note(client_order_id, note)
