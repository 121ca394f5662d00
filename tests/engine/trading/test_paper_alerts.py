"""A guardrail that trips alerts once, after the step commits; a dead endpoint or a broken
alert store never blocks or fails the step (targets given: no model needed)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from engine import workflows
from engine.trading.paper import PaperParams
from store.alerts import AlertRepository
from tests.alert_servers import FAST, free_port, settings, silent_port, wait_for, webhook_server

DAY, NEXT = pd.Timestamp("2018-07-02"), pd.Timestamp("2018-07-03")
TRIP = PaperParams(circuit_breaker=0.0)  # equity at its peak is "0% from it": trips at once
TARGETS = pd.DataFrame(
    {"target_weight": [0.1], "stop": [float("nan")], "take_profit": [float("nan")]}
    | {"trailing": [False]},
    index=pd.Index(["AAPL"], name="ticker"),
)


def step(db, day, alerts):
    return workflows.paper_step(db, day, ["AAPL"], params=TRIP, targets=TARGETS, alerts=alerts)


def test_a_dead_endpoint_never_blocks_or_fails_the_step(seeded_db) -> None:
    # two 5-second waits on the silent port: the alert stays pending well past the step's
    # return, however loaded the machine
    quick = dataclasses.replace(FAST, timeout_s=5.0, attempts=2)
    with silent_port() as port:
        alerts = settings(
            slack_webhook=f"http://127.0.0.1:{free_port()}/refused",
            discord_webhook=f"http://127.0.0.1:{port}/silent",
            policy=quick,
        )
        result = step(seeded_db, DAY, alerts)
        assert result.status == "done" and "circuit breaker" in result.guardrail
        # still pending once the step has returned: the step never waited on the delivery
        # (a wall-clock bound here failed at 73 s on a loaded 2-core machine)
        log = workflows.load_alerts(seeded_db)
        assert log.loc[0, "kind"] == "guardrail_trip" and log.loc[0, "status"] == "pending"
        wait_for(lambda: workflows.load_alerts(seeded_db).loc[0, "status"] == "failed", 120)
    done = workflows.load_alerts(seeded_db)
    assert done.loc[0, "attempts"] == 2 and "timed out" in done.loc[0, "detail"]
    state = workflows.load_paper_state(seeded_db)
    assert state.account.halted and "circuit breaker" in state.account.halt_reason
    assert list(state.steps["step_date"]) == [pd.Timestamp("2018-07-02")] and state.replay_matches


def test_a_broken_alert_store_does_not_fail_the_step(seeded_db, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(AlertRepository, "claim", broken)
    result = step(seeded_db, DAY, settings())
    assert result.status == "done" and result.guardrail
    steps = workflows.load_paper_state(seeded_db).steps
    assert steps["step_date"].tolist() == [pd.Timestamp("2018-07-02")]


def test_a_trip_alerts_once_and_a_paused_account_does_not_alert_again(seeded_db) -> None:
    with webhook_server() as hook:
        alerts = settings(slack_webhook=hook.url)
        assert step(seeded_db, DAY, alerts).status == "done"
        assert step(seeded_db, DAY, alerts).status == "already done"
        paused = step(seeded_db, NEXT, alerts)
        assert "paused by the circuit breaker" in paused.guardrail
        wait_for(lambda: workflows.load_alerts(seeded_db).loc[0, "status"] == "sent")
    assert len(hook.received) == 1
    text = hook.received[0][1]["text"]
    assert text.startswith("*Paper guardrail on 2018-07-02: circuit breaker")
    assert "No position is opened until you resume trading on the Paper page" in text
