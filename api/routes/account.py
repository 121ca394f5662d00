"""GET /portfolio/status, POST /retrain, GET /jobs/{job_id}, GET /champion, POST
/champion/rollback: the paper account, the training job (a job's id is its run id), and
the champion model with its history."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Body, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from api.security import require_key
from engine import workflows
from engine.workflows.data import InvalidTickerError, check_as_of
from engine.workflows.modeling import TrainConfig

router = APIRouter(dependencies=[Depends(require_key)])


def _value(value) -> float | None:
    return None if value is None or math.isnan(float(value)) else float(value)


@router.get("/portfolio/status", tags=["portfolio"])
def portfolio_status(request: Request) -> dict:
    """The paper account now: equity, cash, positions marked at their last close, the last
    step, its P&L (``engine.trading.paper.pnl_today``, the pages' rule; null with a note
    when a step is missing), whether the circuit breaker has halted it, and each
    guardrail's reading against its threshold at the last step."""
    try:
        state = workflows.load_paper_state(request.app.state.db_path)
    except workflows.StoreError as exc:
        raise HTTPException(404, str(exc)) from None
    guardrails = workflows.guardrail_status(request.app.state.db_path).readings
    steps, pnl = state.steps, state.pnl_today
    return {
        "equity": _value(state.equity),
        "cash": float(state.cash),
        "initial_cash": float(state.account.initial_cash),
        "halted": bool(state.account.halted),
        "halt_reason": state.account.halt_reason or None,
        "last_step": None if steps.empty else f"{steps['step_date'].iloc[-1]:%Y-%m-%d}",
        "pnl_today": {
            "session": f"{pnl.session:%Y-%m-%d}",
            "value": _value(pnl.value),
            "note": pnl.note or None,
        },
        "run_id": None if state.run is None else state.run.run_id,
        "positions": [
            {
                "ticker": row.ticker,
                "quantity": float(row.quantity),
                "mark": _value(row.mark),
                "value": _value(row.value),
                "stop": _value(row.stop),
                "take_profit": _value(row.take_profit),
            }
            for row in state.positions.itertuples()
        ],
        "guardrails": [
            {
                "check": row.check_name,
                "reading": _value(row.reading),
                "threshold": _value(row.threshold),
                "tripped": bool(row.tripped),
                "reason": row.reason,
            }
            for row in guardrails.itertuples()
        ],
    }


class RetrainRequest(BaseModel):
    """What to change in the active run's configuration (every field optional)."""

    model_config = ConfigDict(extra="forbid")

    tickers: list[str] | None = Field(None, min_length=1, max_length=200)
    start: dt.date | None = None
    as_of: dt.date | None = None
    train_months: int | None = Field(None, ge=1, le=240)
    test_months: int | None = Field(None, ge=1, le=60)
    n_boot: int | None = Field(None, ge=10, le=5000)

    @field_validator("start", "as_of", mode="before")
    @classmethod
    def _in_calendar(cls, value: object, info: ValidationInfo) -> dt.date | None:
        """A date from the calendar's first session to today, read by ``check_as_of`` (the
        project's one date rule) from what was sent, before pydantic could read a number as
        a Unix time."""
        return None if value is None else check_as_of(value, info.field_name)


@router.post("/retrain", status_code=202, tags=["training"])
def retrain(request: Request, body: Annotated[RetrainRequest | None, Body()] = None) -> dict:
    """Start a training job on the active run's configuration with ``body``'s changes;
    409 while another job runs."""
    path = request.app.state.db_path
    changes = {k: v for k, v in (body.model_dump() if body else {}).items() if v is not None}
    changes |= {k: pd.Timestamp(changes[k]) for k in ("start", "as_of") if k in changes}
    if "tickers" in changes:
        changes["tickers"] = tuple(changes["tickers"])
    run = workflows.active_run(path)
    if run is None and "tickers" not in changes:
        raise HTTPException(422, "no active run to copy the configuration of: send tickers")
    try:
        base = TrainConfig.from_dict(run.params) if run else TrainConfig(changes["tickers"])
        job_id = workflows.launch_training(path, dataclasses.replace(base, **changes))
    except workflows.TrainingBusyError as exc:
        raise HTTPException(409, str(exc)) from None
    except (InvalidTickerError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from None
    return {"job_id": job_id, "status_url": f"/jobs/{job_id}"}


@router.get("/jobs/{job_id}", tags=["training"])
def job_status(request: Request, job_id: str) -> dict:
    """A training job's status (running, complete, failed) and its latest progress."""
    if not workflows.RUN_ID_PATTERN.fullmatch(job_id):
        raise HTTPException(422, "a job id is 1-64 letters, digits, '_', '.', '-'")
    path = request.app.state.db_path
    running = workflows.training_status(path)
    if running is not None and running.run_id == job_id:  # registered once it has started
        return {
            "job_id": job_id,
            "status": "running",
            "progress": running.progress,
            "message": running.message,
            "started_utc": running.started_utc,
            "finished_utc": None,
        }
    try:
        record = workflows.load_run(path, job_id)
    except workflows.StoreError:
        raise HTTPException(404, f"no job {job_id!r}") from None
    progress, message, _ = workflows.read_training_log(job_id)
    return {
        "job_id": job_id,
        "status": record.status,
        "progress": progress,
        "message": record.message or message,
        "started_utc": record.created_utc,
        "finished_utc": record.finished_utc,
    }


@router.get("/champion", tags=["training"])
def champion(request: Request) -> dict:
    """The active run, the previous champion, every change of champion (oldest first) and
    the retraining policy in force (None: retraining only on request)."""
    history = workflows.champion_history(request.app.state.db_path)
    run = workflows.active_run(request.app.state.db_path)
    policy = workflows.load_retrain_policy(request.app.state.db_path)
    events = history.events.astype(object).where(history.events.notna(), None)
    return {
        "active": None if run is None else run.run_id,
        "previous": history.previous,
        "kept": list(history.kept),
        "events": events.to_dict("records"),
        "policy": None if policy is None else policy.as_dict() | {"text": policy.describe()},
    }


@router.post("/champion/rollback", tags=["training"])
def rollback(request: Request) -> dict:
    """Make the previous champion active again; 409 when there is none to go back to."""
    try:
        run_id = workflows.rollback(request.app.state.db_path)
    except workflows.StoreError as exc:
        raise HTTPException(409, str(exc)) from None
    return {"active": run_id}
