"""Paper trading through the store: one step per session, all of it in one transaction.

A step is one run of the execution model (the backtest's fills, exits and costs) from the
state the ledger stored, over the sessions since the last step.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.alerts import AlertSettings
from engine.data.calendar import last_session_on_or_before, sessions_between
from engine.features.panel import WidePanel, to_wide
from engine.features.regime import REGIME_NAMES
from engine.trading.construction import ConstructionParams, construct_row, rebalance_due
from engine.trading.execution import HISTORY_SESSIONS, ExecutionResult, ExecutionState
from engine.trading.gate import RAMP_STAGES
from engine.trading.guardrails import reducing_targets
from engine.trading.paper import (
    TARGET_COLUMNS,
    PaperParams,
    check_guardrails,
    complete_targets,
    decided_targets,
    indicative_shares,
    journal_entries,
    plan_orders,
    run_session,
)
from engine.trading.pretrade import screen_orders
from engine.trading.sizing import SizingParams, sizing_inputs, win_loss_ratio
from engine.workflows.data.prices import DbPath, load_prices
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.forecast import forecast
from engine.workflows.modeling.runs import load_model_as_of, run_for_as_of, run_horizon
from engine.workflows.platform.alerts import guardrail_alert
from engine.workflows.research.backtests import run_construction
from engine.workflows.research.risk_models import construction_risk
from engine.workflows.trading.guardrails import GuardrailInputs, evaluate_guardrails, trip_rows
from store.db import StoreError, open_db, write_transaction
from store.guardrails import GuardrailRepository
from store.paper import PaperLedger


@dataclass(frozen=True)
class PaperStepResult:
    """What a step did. ``status``: done, already done, or blocked (nothing written);
    ``refused``: orders a pre-trade check refused (recorded, not placed)."""

    step_date: pd.Timestamp
    status: str
    message: str
    fills: int = 0
    orders: int = 0
    equity: float = np.nan
    guardrail: str = ""
    refused: int = 0


def _stale(prices: pd.DataFrame, tickers: set[str], day: pd.Timestamp) -> list[str]:
    """Tickers without a bar on the step's session (the step needs it to fill and mark)."""
    latest = prices.groupby("ticker")["date"].max()
    return sorted(
        f"{t} (last close {latest[t]:%Y-%m-%d})" if t in latest else f"{t} (no data)"
        for t in tickers
        if t not in latest or latest[t] < day
    )


def _window_start(first: pd.Timestamp) -> pd.Timestamp:
    """The session ``HISTORY_SESSIONS`` before ``first`` (the cost inputs' history)."""
    sessions = sessions_between(first - pd.Timedelta(days=3 * HISTORY_SESSIONS), first)
    return sessions[max(len(sessions) - 1 - HISTORY_SESSIONS, 0)]


def _book(
    db_path: DbPath,
    tickers: list[str],
    day: pd.Timestamp,
    run_id: str,
    *,
    sizing: SizingParams,
    outcome_returns: tuple[float, float],
    horizon: int,
    construction: ConstructionParams,
    held: pd.Series,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecasts for ``tickers`` as of ``day`` and the run's construction of them at
    ``day``'s close, by the backtest's rule (``construct_row``: the same ATR and volatility
    inputs, ranking and weights); ``held`` is the weight held per ticker (TopkDropout's
    count); ``outcome_returns`` and ``horizon``: the run's training outcomes and label
    horizon (Kelly's win/loss ratio, Black-Litterman's view size)."""
    snapshot = build_snapshot(db_path, tickers, day)
    forecasts = forecast(db_path, snapshot, run_id=run_id)
    if forecasts.empty:
        return forecasts, pd.DataFrame(columns=["weight", "stop", "take_profit", "trailing"])
    history = snapshot.prices[snapshot.prices["ticker"].isin(forecasts.index)]
    panel = to_wide(history)
    rows = forecasts.reindex(list(panel.tickers))
    regime = [float(REGIME_NAMES.index(n)) if n in REGIME_NAMES else np.nan for n in rows["regime"]]
    i = len(panel.dates) - 1
    risk, scale = construction_risk(
        db_path,
        construction,
        list(panel.tickers),
        day,
        outcome_returns=outcome_returns,
        horizon=horizon,
    )
    sized = construct_row(
        panel,
        i,
        rows["score"].to_numpy(float) if "score" in rows.columns else None,
        rows["p_up"].to_numpy(float),
        held.reindex(list(panel.tickers)).fillna(0.0).to_numpy(float),
        params=construction,
        sizing=sizing,
        regime_id=np.array(regime),
        inputs=sizing_inputs(panel, sizing.vol_model, np.array([i])),
        ratio=win_loss_ratio(outcome_returns),
        risk=risk,
        view_scale=scale,
    )
    return forecasts, sized


def sized_forecasts(
    db_path: DbPath,
    tickers: list[str],
    as_of: pd.Timestamp,
    *,
    run_id: str | None = None,
    sizing: SizingParams | None = None,
) -> pd.DataFrame:
    """Forecasts for ``tickers`` at ``as_of`` by the active (or a chosen) run, with
    ``weight``: the signed target weight (a fraction of equity) the run's construction
    gives each one at that session's close for a book that holds nothing, by the paper
    step's rule (``_book``: ``construct_row``), before the capital ramp's fraction. NaN
    where the construction takes no position (no signal, or outside its top k).

    Refused (LookaheadError) like ``forecast`` when the run is trained through a later
    date.
    """
    day = last_session_on_or_before(pd.Timestamp(as_of))
    model, record = load_model_as_of(db_path, day, run_id)
    forecasts, sized = _book(
        db_path,
        tickers,
        day,
        record.run_id,
        sizing=sizing or SizingParams(),
        outcome_returns=model.outcome_returns_,
        horizon=run_horizon(record),
        construction=run_construction(record),
        held=pd.Series(dtype=float),
    )
    return forecasts.assign(weight=sized["weight"].reindex(forecasts.index))


def held_weights(state: ExecutionState, equity: float) -> pd.Series:
    """Weight held per ticker after a session: shares at the last close over equity."""
    value = np.nan_to_num(state.shares * state.last_close)
    return pd.Series(value / equity if equity > 0 else 0.0, index=list(state.tickers))


def _legacy_targets(
    orders: pd.DataFrame, state: ExecutionState, panel: WidePanel, equity: float
) -> pd.DataFrame:
    """Targets for open orders placed before targets were stored (share quantities, no
    target weight): the weight their shares had at the close and equity they were set at."""
    old = orders[orders["target_weight"].isna()].set_index("ticker")
    held = pd.Series(state.shares, index=list(state.tickers)).reindex(old.index).fillna(0.0)
    at = pd.Index(panel.tickers).get_indexer(old.index)
    rows = panel.dates.searchsorted(old["step_date"])
    close = panel.close[np.clip(rows, 0, len(panel.dates) - 1), np.maximum(at, 0)]
    weight = (held + old["quantity"]).to_numpy(float) * close / equity
    return pd.DataFrame(
        {
            "target_weight": np.where(at >= 0, weight, np.nan),
            "stop": old["stop"].astype(float),
            "take_profit": old["take_profit"].astype(float),
            "trailing": False,
        },
        index=old.index,
    )


def _decide(
    db_path: DbPath,
    day: pd.Timestamp,
    tickers: list[str],
    *,
    targets: pd.DataFrame | None,
    run_id: str | None,
    run: ExecutionResult,
    equity: float,
    stage: int,
    sizing: SizingParams | None,
) -> tuple[pd.DataFrame, str | None, pd.DataFrame]:
    """The step's forecasts, the run that made them, and its targets (``TARGET_COLUMNS``):
    ``targets`` as given, or on a rebalance session (or when nothing is held) the model's
    construction scaled by the capital ramp's ``stage``; no targets otherwise."""
    forecasts, chosen = pd.DataFrame(columns=["p_up", "reasons"]), None
    if targets is None:
        model, record = load_model_as_of(db_path, day, run_id)
        chosen = record.run_id
        construction, weights = run_construction(record), held_weights(run.state, equity)
        targets = pd.DataFrame(columns=list(TARGET_COLUMNS))  # not a rebalance session
        if (
            rebalance_due(pd.DatetimeIndex([day]), construction.rebalance)[0]
            or not (weights != 0).any()
        ):
            forecasts, sized = _book(
                db_path,
                tickers,
                day,
                chosen,
                sizing=sizing or SizingParams(),
                outcome_returns=model.outcome_returns_,
                horizon=run_horizon(record),
                construction=construction,
                held=weights,
            )
            held = [t for t, q in zip(run.state.tickers, run.state.shares, strict=True) if q != 0]
            targets = complete_targets(sized, held)
            targets["target_weight"] *= RAMP_STAGES[stage]  # the capital ramp's share
    return forecasts, chosen, decided_targets(targets)


def _write(
    ledger: PaperLedger,
    run: ExecutionResult,
    journal: tuple[list[dict], list[dict], list[str]],
    *,
    targets: pd.DataFrame,
    orders: tuple[list[dict], list[tuple[dict, str]]],
    step: dict,
    halt: tuple[str, pd.DataFrame] | None,
) -> None:
    """Everything a step writes, inside the caller's transaction: the session's orders and
    fills, the state after it, the next targets and their orders (placed, or refused by a
    pre-trade check), a pause with the checks that tripped, the step."""
    placed, fills, cancelled = journal
    for order in placed:
        ledger.add_order(order)
    for fill in fills:
        if not ledger.record_fill(fill):
            raise StoreError(f"fill {fill['fill_id']} is booked already: the ledger disagrees")
    ledger.cancel_orders(cancelled)
    ledger.save_state(run.state.to_rows(), list(run.state.tickers))
    ledger.save_targets(step["step_date"], targets)
    passed, refused = orders
    for order in passed:
        ledger.add_order(order)
    for order, refusal in refused:
        ledger.refuse_order(order, refusal)
    if halt is not None:
        ledger.set_halt(True, halt[0])
        GuardrailRepository(ledger.db).record_trips(step["step_date"], halt[1])
    ledger.record_step(step)


def paper_step(
    db_path: DbPath,
    step_date: pd.Timestamp,
    tickers: list[str],
    *,
    run_id: str | None = None,
    params: PaperParams | None = None,
    sizing: SizingParams | None = None,
    targets: pd.DataFrame | None = None,
    alerts: AlertSettings | None = None,
) -> PaperStepResult:
    """Run the paper step for one session, after its close.

    Execute the previous step's targets with the execution model (the backtest's fills,
    exits and costs) on the sessions since that step, mark to market, apply the
    guardrails, and set the next targets: on a rebalance session of the run's construction
    (``run_construction``; or when nothing is held) the model's forecasts turned into
    weights by the backtest's rule (``construct_row``, with the weights held now), or
    ``targets`` (``TARGET_COLUMNS`` by ticker) decided elsewhere. The model's weights are
    scaled by the capital ramp's stage (``engine.trading.gate.RAMP_STAGES``: 1%, 5%, 10%
    of them); ``targets`` passed in are traded as given. Every write of
    the step lands in one transaction; running the same step twice changes nothing. See
    ``engine.trading.paper.PAPER_DIFFERENCES`` for how it differs from a backtest.

    The guardrails (``engine.workflows.trading.guardrails.CHECKS``, read as of the step's
    date) pause the account when one trips, recording the trip: until the user resumes,
    only targets that reduce or close a position trade. Each order passes the pre-trade
    checks (``params.pretrade``) or is recorded refused, its ticker keeping its position.
    A guardrail that trips (not one already paused) raises an alert through ``alerts``
    once the step has committed; alerting never blocks or fails the step.
    """
    params = params or PaperParams()
    day = last_session_on_or_before(pd.Timestamp(step_date))
    key = f"{day:%Y-%m-%d}"
    if targets is None:  # the model must be allowed to forecast at day: before any write
        run_id = run_for_as_of(db_path, day, run_id).run_id
    with closing(open_db(db_path)) as db:
        ledger = PaperLedger(db)
        ledger.open_account(params.initial_cash)
        if ledger.step_done(day):
            return PaperStepResult(day, "already done", f"The step for {key} has already run.")
        account, rows, steps = ledger.account(), ledger.execution_rows(), ledger.steps()
        cash, open_orders, stage = ledger.cash(), ledger.orders("open"), ledger.ramp_stage()
        last_step = steps["step_date"].iloc[-1] if len(steps) else None
        pending = ledger.targets(last_step) if last_step is not None else pd.DataFrame()
    if last_step is not None and last_step > day:
        return PaperStepResult(
            day, "blocked", f"The last step ran for {last_step:%Y-%m-%d}, after {key}."
        )
    needed = set(tickers) | set(rows.loc[rows["quantity"] != 0, "ticker"])
    needed |= set(pending.index) | set(open_orders["ticker"])
    if not needed:
        return PaperStepResult(day, "blocked", "No tickers to trade or mark.")
    first = day if last_step is None else sessions_between(last_step, day)[1]
    prices = load_prices(db_path, sorted(needed | set(rows["ticker"])), _window_start(first), day)
    stale = _stale(prices, needed, day)
    if stale:
        return PaperStepResult(
            day, "blocked", f"Stale data blocks the step for {key}: {', '.join(stale)}."
        )
    panel = to_wide(prices)
    state = ExecutionState.from_rows(rows, cash, panel.tickers)
    previous = float(steps["equity"].iloc[-1]) if len(steps) else account.initial_cash
    if pending.empty and open_orders["target_weight"].isna().any():
        pending = _legacy_targets(open_orders, state, panel, previous)
    run = run_session(panel, state, pending, int(panel.dates.searchsorted(first)), params)
    equity = float(run.equity.iloc[-1])
    peak = max([account.initial_cash, equity, *steps["peak_equity"].tolist()])
    inputs = GuardrailInputs(db_path, day, run_id, equity, peak, params)
    readings = () if account.halted else evaluate_guardrails(inputs)
    guard = check_guardrails(readings, equity, previous, halted=account.halted, params=params)
    forecasts, chosen, decided = _decide(
        db_path,
        day,
        tickers,
        targets=targets,
        run_id=run_id,
        run=run,
        equity=equity,
        stage=stage,
        sizing=sizing,
    )
    if not guard.allow_openings:  # paused: only what reduces or closes a position trades
        decided = reducing_targets(decided, held_weights(run.state, equity))
    shares = indicative_shares(panel, run.state, decided, params)
    planned = plan_orders(decided, shares, forecasts, day, chosen)
    held_shares = pd.Series(run.state.shares, index=list(run.state.tickers))
    orders, refused = screen_orders(planned, prices, held_shares, params.pretrade)
    decided = decided.drop(index=[order["ticker"] for order, _ in refused])  # keeps its position
    journal = journal_entries(
        run.trades,
        pending,
        list(open_orders["client_order_id"]),
        step_date=day,
        decided_on=last_step,
    )
    step = {
        "step_date": day,
        "equity": equity,
        "cash": run.state.cash,
        "peak_equity": peak,
        "orders": len(orders),
        "fills": len(run.trades),
        "guardrail": guard.reason,
    }
    with closing(open_db(db_path)) as db, write_transaction(db):
        ledger = PaperLedger(db)
        if ledger.step_done(day):  # another process finished this step meanwhile
            return PaperStepResult(day, "already done", f"The step for {key} has already run.")
        latest = ledger.steps()["step_date"]
        if (latest.iloc[-1] if len(latest) else None) != last_step:  # ... or another one
            return PaperStepResult(day, "blocked", "Another step ran meanwhile: run it again.")
        halt = (guard.reason, trip_rows(readings)) if guard.halt_account else None
        _write(
            ledger, run, journal, targets=decided, orders=(orders, refused), step=step, halt=halt
        )
    if guard.reason and not account.halted:  # ALERT: a guardrail tripped (after the commit)
        guardrail_alert(db_path, key, guard.reason, guard.halt_account, alerts)
    fills = len(run.trades)
    message = f"Step {key}: {fills} fill(s), {len(orders)} new order(s), equity {equity:,.2f}."
    if refused:
        message += f" {len(refused)} order(s) refused by a pre-trade check."
    return PaperStepResult(
        day, "done", message, fills, len(orders), equity, guard.reason, len(refused)
    )
