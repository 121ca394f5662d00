"""The Go / No-Go gate on the paper journal and the capital ramp's changes, through the
store (the rules: ``engine.trading.gate``)."""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, replace

import pandas as pd

from engine.alerts import AlertSettings
from engine.metrics import N_BOOT
from engine.modeling.training import TrainConfig
from engine.trading.gate import (
    RAMP_STAGES,
    TOO_EARLY,
    GoNoGoResult,
    closed_trades,
    evaluate_gate,
    ramp_proposal,
    scored_forecasts,
    step_returns,
)
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.runs import load_run
from engine.workflows.platform.alerts import raise_alert
from store.alerts import AlertRepository
from store.db import StoreError, open_db
from store.paper import PaperLedger


@dataclass(frozen=True)
class GateReport:
    """The gate as of a date, the ramp's stage in force, its history of changes, and the
    stage the user may confirm now (None: no change is on offer)."""

    as_of: pd.Timestamp
    gate: GoNoGoResult
    trades: pd.DataFrame
    stage: int
    history: pd.DataFrame
    proposal: int | None

    @property
    def fraction(self) -> float:
        return RAMP_STAGES[self.stage]


def _outcomes(db_path: DbPath, orders: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The orders' forecasts scored against their run's own labels (kind, horizon, its
    tickers as the universe), outcomes known by ``as_of`` only."""
    frames = []
    for run_id, placed in orders.dropna(subset=["p_up", "run_id"]).groupby("run_id"):
        config = TrainConfig.from_dict(load_run(db_path, run_id).params)
        labels = build_snapshot(db_path, config.tickers, as_of).labels(config.label)
        frames.append(scored_forecasts(placed, labels))
    empty = pd.DataFrame(columns=["date", "ticker", "p", "y"])
    return pd.concat(frames, ignore_index=True) if frames else empty


def run_gate(
    db_path: DbPath,
    as_of: pd.Timestamp | None = None,
    *,
    n_boot: int = N_BOOT,
    alerts: AlertSettings | None = None,
) -> GateReport:
    """The gate on the journal's steps, fills and orders dated on or before ``as_of``
    (None: all of them); a verdict other than the last one alerted alerts through
    ``alerts`` (``alert_gate_change``)."""
    with closing(open_db(db_path)) as db:
        ledger = PaperLedger(db)
        if ledger.account() is None:
            raise StoreError("no paper account yet: run a step first")
        steps, fills, orders = ledger.steps(), ledger.fills(), ledger.orders()
        stage, history = ledger.ramp_stage(), ledger.ramp_history()
    as_of = pd.Timestamp(as_of if as_of is not None else steps["step_date"].max())
    steps = steps[steps["step_date"] <= as_of]
    fills = fills[fills["fill_date"] <= as_of]
    orders = orders[orders["step_date"] <= as_of]
    trades = closed_trades(fills)
    gate = evaluate_gate(
        trades, step_returns(steps, history), _outcomes(db_path, orders, as_of), n_boot=n_boot
    )
    last = history["changed_on"].iloc[-1] if len(history) else None
    offer = ramp_proposal(stage, gate.verdict, changed_on=last, as_of=as_of)
    report = GateReport(as_of, gate, trades, stage, history, offer)
    alert_gate_change(db_path, report, alerts)
    return report


GATE_EVENT = "gate_change"


def alert_gate_change(db_path: DbPath, report: GateReport, alerts: AlertSettings | None) -> bool:
    """Alert when the gate's verdict is not the last one alerted (the first alert comes
    with the first verdict past "not enough evidence yet"); the event id carries the
    date and the verdict, so a rerun on the same date alerts once. True when raised."""
    verdict = report.gate.verdict
    if alerts is None:
        return False
    with closing(open_db(db_path)) as db:
        last = AlertRepository(db).latest_event(GATE_EVENT)
    previous = last.split(":", 2)[2] if last else TOO_EARLY
    if verdict == previous:
        return False
    raise_alert(
        db_path,
        GATE_EVENT,
        f"{GATE_EVENT}:{report.as_of:%Y-%m-%d}:{verdict}",
        f"Go / No-Go: {verdict} (was {previous})",
        "\n".join(
            f"{row.criterion}: {row.estimate:.3g} from {row.observations} observations"
            for row in report.gate.table().itertuples()
        ),
        settings=alerts,
    )
    return True


def change_ramp(db_path: DbPath, as_of: pd.Timestamp | None = None) -> GateReport:
    """Confirm the ramp's change the gate offers now (up one stage on GO, back to the
    first on NO-GO), recorded with its date and the gate's figures.

    The gate is run again here, so nothing but a GO (or NO-GO) as of ``as_of`` moves the
    stage; raises ValueError when it offers no change.
    """
    report = run_gate(db_path, as_of)
    if report.proposal is None:
        raise ValueError(
            f"The gate says {report.gate.verdict}: the ramp stays at {report.fraction:.0%}."
        )
    fraction = RAMP_STAGES[report.proposal]
    reason = "advanced on GO" if report.proposal > report.stage else "dropped on NO-GO"
    with closing(open_db(db_path)) as db:
        ledger = PaperLedger(db)
        ledger.record_ramp(report.as_of, report.proposal, fraction, report.gate.as_dict(), reason)
        history = ledger.ramp_history()
    return replace(report, stage=report.proposal, history=history, proposal=None)
