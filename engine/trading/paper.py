"""Paper trading rules: a session of the execution model, targets from sized forecasts,
orders for the journal, and the guardrails' verdict (the checks themselves are in
``engine.trading.guardrails``, the pre-trade checks in ``engine.trading.pretrade``). Pure
functions; the store work happens in ``engine.workflows.trading.paper``.

A paper step trades exactly as a backtest of the same targets does: fills, exits and
costs are the execution model's (``engine.trading.execution``), from the state the ledger
stored. Where paper trading differs, it is written down in ``PAPER_DIFFERENCES`` (and each
difference has a test in tests/engine/trading/test_paper_execution.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.data.calendar import last_session_on_or_before
from engine.features.panel import WidePanel
from engine.trading.execution import (
    CostModel,
    ExecutionResult,
    ExecutionState,
    corwin_schultz_half_spread,
    execute,
)
from engine.trading.guardrails import CheckReading, GuardrailParams, trip_reason
from engine.trading.pretrade import PretradeParams

PAPER_DIFFERENCES = (
    "A step runs one session at a time, after that session's close: the step on session d "
    "trades the targets decided at the previous step's close, on the sessions since (from "
    "the open of the first), and uses no bar after d. It never sees a bar before it has "
    "placed the targets that trade on it.",
    "Its guardrails (daily loss limit; the circuit breaker, which a drawdown, the live hit "
    "rate or calibration, or the VIX trips) withhold new targets that open or add to a "
    "position: only those that reduce or close one trade, while positions, stops, "
    "take-profits, trailing stops and marks still run. Its pre-trade checks can refuse an "
    "order: its ticker then keeps its position.",
    "Stale data (a ticker to trade or mark without a bar on d) blocks the whole step and "
    "writes nothing. The next step that runs catches the sessions it missed up: their "
    "exits, trailing and marks run, and no decision is made for them.",
    "Execution is always at the next open (a bar without an open trades at its close), in "
    "whole shares, with exits on; the order's quantity is indicative, the fill sizes the "
    "trade from the portfolio's value at the execution price.",
    "The names it holds before a decision (what TopkDropout counts its replacements "
    "against) are the positions the account holds: shares at the last close over equity. "
    "A backtest takes its previous decision's targets instead; the two differ only where a "
    "target could not be filled (no bar, a cash cut), since only which names are held "
    "counts. Both decide on the same rebalance sessions (every n-th NYSE session, or "
    "whenever nothing is held); a rebalance the guardrails withhold waits for the next one.",
)
TARGET_COLUMNS = ("target_weight", "stop", "take_profit", "trailing")


@dataclass(frozen=True)
class PaperParams:
    initial_cash: float = 1_000_000.0
    costs: CostModel = field(default_factory=CostModel)  # spread and impact are the slippage
    corwin_schultz_spread: bool = False  # half-spread from high/low instead of the fixed bps
    daily_loss_limit: float = 0.02  # a day's loss beyond this withholds that day's openings
    circuit_breaker: float = 0.10  # a fall from the equity peak beyond this pauses trading
    guardrails: GuardrailParams = field(default_factory=GuardrailParams)  # the other trips
    pretrade: PretradeParams = field(default_factory=PretradeParams)


@dataclass(frozen=True)
class Guardrail:
    """Whether positions may be opened, and why not; ``halt_account``: a check tripped
    on this step and pauses the account until the user resumes."""

    allow_openings: bool
    halt_account: bool
    reason: str


def client_order_id(step_date: pd.Timestamp, ticker: str, kind: str = "") -> str:
    """One order per ticker per step (and per exit): re-running a step cannot add one."""
    return f"{pd.Timestamp(step_date):%Y%m%d}-{ticker}" + (f"-{kind}" if kind else "")


def equity_of(cash: float, positions: pd.DataFrame, marks: pd.Series) -> float:
    """Cash plus every position at its mark."""
    marked = (
        positions.set_index("ticker")["quantity"] * marks.reindex(positions["ticker"]).to_numpy()
    )
    return float(cash + marked.sum())


def check_guardrails(
    readings: tuple[CheckReading, ...],
    equity: float,
    previous_equity: float | None,
    *,
    halted: bool,
    params: PaperParams,
) -> Guardrail:
    """A paused account stays paused until the user resumes; a tripped check (``readings``:
    the drawdown, live quality and market checks) pauses it; then the daily loss limit
    withholds one day's openings."""
    if halted:
        return Guardrail(False, False, "trading paused by the circuit breaker: resume to continue")
    tripped = trip_reason(readings)
    if tripped:
        return Guardrail(False, True, tripped)
    if previous_equity and equity / previous_equity - 1.0 <= -params.daily_loss_limit:
        change = equity / previous_equity - 1.0
        return Guardrail(False, False, f"daily loss limit: {change:.1%} today")
    return Guardrail(True, False, "")


def run_session(
    panel: WidePanel,
    state: ExecutionState,
    decision: pd.DataFrame,
    start: int,
    params: PaperParams,
) -> ExecutionResult:
    """The execution model on rows ``start`` .. T-1 of ``panel`` (the sessions of one step).

    Parameters
    ----------
    panel : WidePanel, shape (T, N), tickers in ``state.tickers`` order
        History up to the step's session; rows before ``start`` feed the cost inputs only.
    state : ExecutionState
        The ledger's state after the previous step.
    decision : DataFrame indexed by ticker, ``TARGET_COLUMNS``
        The previous step's targets, decided at the close of row ``start - 1``; a ticker
        without one keeps its position.
    """
    shape = panel.close.shape
    weights, stops, take_profits = (np.full(shape, np.nan) for _ in range(3))
    trailing = np.zeros(shape, dtype=bool)
    columns = pd.Index(panel.tickers).get_indexer(decision.index)
    known = columns >= 0
    if start > 0 and known.any():
        row, at = start - 1, columns[known]
        values = decision[known]
        weights[row, at] = values["target_weight"].to_numpy(float)
        stops[row, at] = values["stop"].to_numpy(float, na_value=np.nan)
        take_profits[row, at] = values["take_profit"].to_numpy(float, na_value=np.nan)
        trailing[row, at] = values["trailing"].fillna(False).to_numpy(bool)
    return execute(
        panel,
        weights,
        state=state,
        costs=params.costs,
        start=start,
        stops=stops,
        take_profits=take_profits,
        trailing=trailing,
        half_spread=corwin_schultz_half_spread(panel) if params.corwin_schultz_spread else None,
        execution="next_open",
    )


def indicative_shares(
    panel: WidePanel, state: ExecutionState, targets: pd.DataFrame, params: PaperParams
) -> pd.Series:
    """Shares by ticker that ``targets`` would trade if the next open were the last close.

    For the journal only: the execution model sizes the real fill at the open. It is the
    same model, run on a copy of the last bar, so blocks and cash cuts show as they will.
    """
    last = panel.close[-1:]
    extended = WidePanel(
        dates=panel.dates.append(pd.DatetimeIndex([panel.dates[-1] + pd.Timedelta(days=1)])),
        tickers=panel.tickers,
        open=np.vstack([panel.open, last]),
        high=np.vstack([panel.high, last]),
        low=np.vstack([panel.low, last]),
        close=np.vstack([panel.close, last]),
        volume=np.vstack([panel.volume, np.full_like(last, np.nan)]),
        present=np.vstack([panel.present, np.zeros_like(last, dtype=bool)]),
    )
    trades = run_session(extended, state, targets, len(panel.dates), params).trades
    trades = trades[trades["reason"] == "rebalance"]
    return pd.Series(trades["shares"].to_numpy(), index=trades["ticker"].astype(str).to_numpy())


def complete_targets(sized: pd.DataFrame, held: list[str]) -> pd.DataFrame:
    """``TARGET_COLUMNS`` by ticker from a ``size_positions`` frame; a ticker held but no
    longer sized (not watched, no forecast) gets target 0: it is closed."""
    targets = pd.DataFrame(
        {
            "target_weight": sized["weight"].astype(float),
            "stop": sized["stop"].astype(float),
            "take_profit": sized["take_profit"].astype(float),
            "trailing": sized["trailing"].astype(bool),
        },
        index=sized.index,
    )
    for ticker in sorted(set(held) - set(targets.index)):
        targets.loc[ticker] = [0.0, np.nan, np.nan, False]
    return targets.astype({"trailing": bool})


def decided_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """``TARGET_COLUMNS`` of the tickers with a target weight (a missing level: none; a
    missing trailing flag: False)."""
    frame = targets.reindex(columns=list(TARGET_COLUMNS))
    frame = frame[pd.to_numeric(frame["target_weight"], errors="coerce").notna()]
    return frame.astype(float).assign(trailing=frame["trailing"].fillna(False).astype(bool))


def plan_orders(
    targets: pd.DataFrame,
    shares: pd.Series,
    forecasts: pd.DataFrame,
    step_date: pd.Timestamp,
    run_id: str | None,
) -> list[dict]:
    """Orders for the journal: one per target with an indicative trade (``shares``)."""
    orders = []
    for ticker, row in targets.iterrows():
        quantity = float(shares.get(ticker, 0.0))
        if quantity == 0:
            continue
        forecast = forecasts.loc[ticker] if ticker in forecasts.index else None
        orders.append(
            {
                "client_order_id": client_order_id(step_date, ticker),
                "step_date": pd.Timestamp(step_date),
                "ticker": ticker,
                "quantity": quantity,
                "target_weight": float(row["target_weight"]),
                "stop": None if pd.isna(row["stop"]) else float(row["stop"]),
                "take_profit": None if pd.isna(row["take_profit"]) else float(row["take_profit"]),
                "trailing": int(bool(row["trailing"])),
                "p_up": None if forecast is None else float(forecast["p_up"]),
                "run_id": run_id,
                "reasons": "" if forecast is None else str(forecast["reasons"]),
            }
        )
    return orders


def journal_entries(
    trades: pd.DataFrame,
    pending: pd.DataFrame,
    open_orders: list[str],
    *,
    step_date: pd.Timestamp,
    decided_on: pd.Timestamp | None,
) -> tuple[list[dict], list[dict], list[str]]:
    """Orders to add, fills to book (in the execution model's order) and orders to cancel.

    A rebalance fills the order of the decision it executes (``decided_on``'s), created at
    the fill when the decision had no indicative quantity; a stop or take-profit fills an
    order of its own, placed by this step. Open orders the model did not trade (a block, a
    cash cut, a weight already held) are cancelled.
    """
    new_orders, fills, remaining = [], [], set(open_orders)
    for trade in trades.itertuples():
        reason, ticker = str(trade.reason), str(trade.ticker)
        rebalance = reason == "rebalance"
        order_id = (
            client_order_id(decided_on, ticker)
            if rebalance
            else client_order_id(trade.date, ticker, reason)
        )
        if order_id not in remaining:
            target = pending.loc[ticker] if rebalance and ticker in pending.index else None

            def level(name: str, target=target):
                return None if target is None or pd.isna(target[name]) else float(target[name])

            new_orders.append(
                {
                    "client_order_id": order_id,
                    "step_date": decided_on if rebalance else step_date,
                    "ticker": ticker,
                    "quantity": float(trade.shares),
                    "target_weight": level("target_weight"),
                    "stop": level("stop"),
                    "take_profit": level("take_profit"),
                    "trailing": 0 if target is None else int(bool(target["trailing"])),
                }
            )
        remaining.discard(order_id)
        fills.append(
            {
                "fill_id": f"fill-{order_id}",
                "client_order_id": order_id,
                "fill_date": pd.Timestamp(trade.date),
                "ticker": ticker,
                "quantity": float(trade.shares),
                "price": float(trade.price),
                "fees": float(trade.commission),
                "spread": float(trade.spread),
                "impact": float(trade.impact),
                "reason": reason,
                "realized_pnl": float(trade.realized_pnl),
            }
        )
    return new_orders, fills, sorted(remaining)


@dataclass(frozen=True)
class PnlToday:
    """The paper account's P&L on one session, or why it is unknown.

    ``value`` is NaN when a step it needs is missing; ``note`` then says which (and is
    empty otherwise). ``previous`` is the session before ``session``.
    """

    session: pd.Timestamp
    previous: pd.Timestamp
    value: float
    note: str = ""

    @property
    def text(self) -> str:
        """The value as the pages show it: signed whole dollars, or "n/a"."""
        return "n/a" if np.isnan(self.value) else f"{self.value:+,.0f}"


def pnl_today(steps: pd.DataFrame, as_of: pd.Timestamp, initial_cash: float) -> PnlToday:
    """P&L today: the equity at the close of the as-of date's session minus the equity at
    the previous session's close. The one rule every page and the API show.

    A step's ``equity`` is its book marked at its session's close, so both ends are read
    from the journal: the step recorded for the session on or before ``as_of``, and the
    step for the NYSE session before it (``initial_cash`` when the first step ran on
    ``as_of``'s session: the account opened at the previous close). Neither end is
    guessed: without a step for the session (not run yet, or ``as_of`` before the first
    one) or for the previous session (a step missed, so the change since the last one
    spans several sessions), the value is NaN and ``note`` says which step is missing.
    Steps after ``as_of`` are never looked at.

    Parameters
    ----------
    steps : DataFrame
        The journal's steps: ``step_date`` (datetime64) and ``equity``, one row per step.
    as_of : Timestamp
        The as-of date; a non-session day counts as the session before it.
    initial_cash : float
        The account's opening cash.
    """
    day = last_session_on_or_before(pd.Timestamp(as_of))
    previous = last_session_on_or_before(day - pd.Timedelta(days=1))
    dates = pd.DatetimeIndex(steps["step_date"])
    equity = pd.Series(steps["equity"].to_numpy(float), index=dates)
    if day not in equity.index:
        before = dates[dates <= day]
        last = f"the last ran for {before.max():%Y-%m-%d}" if len(before) else "none ran before"
        return PnlToday(day, previous, np.nan, f"No paper step for {day:%Y-%m-%d} yet ({last}).")
    if previous in equity.index:
        start = float(equity[previous])
    elif dates.min() == day:
        start = initial_cash
    else:
        last = dates[dates < day].max()
        note = (
            f"No paper step for the previous session {previous:%Y-%m-%d}: the change since "
            f"the last one ({last:%Y-%m-%d}) spans more than one session."
        )
        return PnlToday(day, previous, np.nan, note)
    return PnlToday(day, previous, float(equity[day]) - start)
