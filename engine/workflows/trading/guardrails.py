"""The paper account's guardrails through the store: each check fed what the store knew
at the step's date, the trips recorded, and the state the pages and the API show.

A check is a function of ``GuardrailInputs`` returning one
``engine.trading.guardrails.CheckReading``; ``CHECKS`` lists those the paper step runs,
so adding one is one line. A check computed elsewhere that only says why it tripped,
``(db_path, as_of) -> str | None``, joins the list through ``external_check``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from engine.data.universe import VIX_TICKER
from engine.trading.guardrails import (
    CheckReading,
    drawdown_check,
    ece_check,
    external_reading,
    hit_rate_check,
    vix_check,
)
from engine.trading.paper import PaperParams
from engine.workflows.data.prices import DbPath, load_prices
from engine.workflows.modeling.runs import active_run
from engine.workflows.trading.tca import slippage_check
from store.db import open_db
from store.guardrails import GuardrailRepository
from store.live import LiveRecordRepository
from store.paper import PaperLedger

READING_COLUMNS = ("check_name", "reading", "threshold", "tripped", "reason")


@dataclass(frozen=True)
class GuardrailInputs:
    """What every check may use: the store (read as of ``day`` only), the run whose live
    record is judged (None: the active run), the equity marked at ``day``'s close and its
    peak, and the thresholds (``params.guardrails``, ``params.circuit_breaker``)."""

    db_path: DbPath
    day: pd.Timestamp
    run_id: str | None
    equity: float
    peak: float
    params: PaperParams

    @cached_property
    def scored(self) -> pd.DataFrame:
        """``scored_live_forecasts`` of the run at ``day``, read once for every check."""
        return scored_live_forecasts(self.db_path, self.run_id, self.day)


GuardrailCheck = Callable[[GuardrailInputs], CheckReading]


def scored_live_forecasts(db_path: DbPath, run_id: str | None, day: pd.Timestamp) -> pd.DataFrame:
    """The run's live forecasts made on or before ``day`` whose outcome was known by
    ``day`` (``outcome_date <= day``): ``p`` and ``beat``, one row each."""
    run = run_id if run_id is not None else getattr(active_run(db_path), "run_id", None)
    if run is None:
        return pd.DataFrame(columns=["p", "beat"], dtype=float)
    with closing(open_db(db_path)) as db:
        scored = LiveRecordRepository(db).scored(run)
    known = (scored["outcome_date"] <= day) & (scored["as_of"] <= day)
    return scored.loc[known, ["p", "beat"]].reset_index(drop=True)


def live_hit_rate(inputs: GuardrailInputs) -> CheckReading:
    """``hit_rate_check`` on the run's scored live forecasts as of the step's date."""
    return hit_rate_check(inputs.scored["p"], inputs.scored["beat"], inputs.params.guardrails)


def live_ece(inputs: GuardrailInputs) -> CheckReading:
    """``ece_check`` on the run's scored live forecasts as of the step's date."""
    return ece_check(inputs.scored["p"], inputs.scored["beat"], inputs.params.guardrails)


def vix_level(inputs: GuardrailInputs) -> CheckReading:
    """``vix_check`` on the stored VIX close of the step's date (none stored: NaN)."""
    bars = load_prices(inputs.db_path, [VIX_TICKER], inputs.day, inputs.day)
    close = float(bars["close"].iloc[0]) if len(bars) else np.nan
    return vix_check(close, inputs.day, inputs.params.guardrails)


def drawdown(inputs: GuardrailInputs) -> CheckReading:
    """The circuit breaker: ``drawdown_check`` at ``params.circuit_breaker``."""
    return drawdown_check(inputs.equity, inputs.peak, inputs.params.circuit_breaker)


def external_check(
    name: str, check: Callable[[DbPath, pd.Timestamp], str | None]
) -> GuardrailCheck:
    """A check that gives only a reason when it trips, as a ``GuardrailCheck``."""

    def run(inputs: GuardrailInputs) -> CheckReading:
        return external_reading(name, check(inputs.db_path, inputs.day))

    return run


CHECKS: tuple[GuardrailCheck, ...] = (
    drawdown, live_hit_rate, live_ece, vix_level, external_check("slippage", slippage_check)
)  # fmt: skip


def evaluate_guardrails(
    inputs: GuardrailInputs, checks: tuple[GuardrailCheck, ...] = CHECKS
) -> tuple[CheckReading, ...]:
    """Every check's reading as of ``inputs.day``, in ``checks``' order."""
    return tuple(check(inputs) for check in checks)


def readings_frame(readings: tuple[CheckReading, ...]) -> pd.DataFrame:
    """``readings`` as a table (``READING_COLUMNS``), one row per check."""
    rows = [(r.name, r.reading, r.threshold, r.tripped, r.reason) for r in readings]
    return pd.DataFrame(rows, columns=list(READING_COLUMNS)).astype(
        {"reading": float, "threshold": float, "tripped": bool}
    )


@dataclass(frozen=True)
class GuardrailStatus:
    """The guardrails as the pages show them: whether trading is paused and why, each
    check's reading at the last step on or before the as-of date (``READING_COLUMNS``;
    empty before any step) and every trip and resume (``store.guardrails.TRIP_COLUMNS``)."""

    halted: bool
    halt_reason: str
    step_date: pd.Timestamp | None
    readings: pd.DataFrame
    history: pd.DataFrame


def guardrail_status(
    db_path: DbPath,
    as_of: pd.Timestamp | None = None,
    params: PaperParams | None = None,
    checks: tuple[GuardrailCheck, ...] = CHECKS,
) -> GuardrailStatus:
    """Every check read at the last paper step on or before ``as_of`` (None: the last
    one), with that step's equity and peak; the account's pause and the trip history."""
    with closing(open_db(db_path)) as db:
        ledger = PaperLedger(db)
        account, steps = ledger.account(), ledger.steps()
        history = GuardrailRepository(db).history()
    if as_of is not None:
        steps = steps[steps["step_date"] <= pd.Timestamp(as_of)]
    readings = pd.DataFrame(columns=list(READING_COLUMNS))
    step_date = None
    if len(steps):
        last = steps.iloc[-1]
        step_date = pd.Timestamp(last["step_date"])
        inputs = GuardrailInputs(
            db_path,
            step_date,
            None,
            float(last["equity"]),
            float(last["peak_equity"]),
            params or PaperParams(),
        )
        readings = readings_frame(evaluate_guardrails(inputs, checks))
    halted = account is not None and account.halted
    reason = account.halt_reason if account is not None else ""
    return GuardrailStatus(halted, reason, step_date, readings, history)


def trip_rows(readings: tuple[CheckReading, ...]) -> pd.DataFrame:
    """The tripped checks of ``readings`` as ``GuardrailRepository.record_trips`` takes
    them."""
    frame = readings_frame(readings)
    return frame.loc[frame["tripped"], ["check_name", "reading", "threshold", "reason"]]
