"""Guardrails that act, through the store: a trip pauses openings (reductions still trade),
is recorded and alerted once, and a resume is recorded with who; the live checks read
only outcomes known by the step's date; pre-trade refusals are recorded, not traded, and
a refused broker order is never sent nor retried (targets given: no model needed)."""

from __future__ import annotations

from contextlib import closing

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.trading.broker import BrokerSettings
from engine.trading.guardrails import GuardrailParams
from engine.trading.paper import PaperParams
from engine.trading.pretrade import PretradeParams
from engine.workflows.trading.guardrails import (
    CHECKS,
    GuardrailInputs,
    evaluate_guardrails,
    external_check,
    live_ece,
    live_hit_rate,
)
from store.db import open_db
from store.guardrails import GuardrailRepository
from store.live import LiveRecordRepository
from tests.alert_servers import settings
from tests.builders import store_digest

DAYS = [pd.Timestamp(d) for d in ("2018-07-02", "2018-07-03", "2018-07-05", "2018-07-06")]
LOOSE = PaperParams(daily_loss_limit=0.5, circuit_breaker=0.9)
VIX_16 = PaperParams(
    daily_loss_limit=0.5, circuit_breaker=0.9, guardrails=GuardrailParams(vix_level=16.0)
)  # the VIX closed at 15.60, 16.14, 14.97 on DAYS[:3]


def targets(**weights: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"target_weight": list(weights.values()), "stop": np.nan, "take_profit": np.nan}
        | {"trailing": False},
        index=pd.Index(list(weights), name="ticker"),
    )


def step(db, day, weights, params=LOOSE, **kwargs):
    return workflows.paper_step(
        db, day, ["AAPL", "KO"], params=params, targets=targets(**weights), **kwargs
    )


def test_a_trip_pauses_openings_keeps_reductions_and_a_resume_is_recorded(seeded_db) -> None:
    assert step(seeded_db, DAYS[0], {"AAPL": 0.1}).orders == 1
    tripped = step(seeded_db, DAYS[1], {"AAPL": 0.05, "KO": 0.1}, VIX_16, alerts=settings())
    assert tripped.guardrail == "VIX closed at 16.1 on 2018-07-03, above 16"
    state = workflows.load_paper_state(seeded_db)
    assert state.account.halted and state.account.halt_reason == tripped.guardrail
    new = state.orders[state.orders["step_date"] == DAYS[1]]
    assert list(new["ticker"]) == ["AAPL"] and (new["quantity"] < 0).all()  # a reduction only
    trips = workflows.guardrail_status(seeded_db).history
    assert trips[["check_name", "event"]].values.tolist() == [["VIX", "tripped"]]
    assert trips.loc[0, "reading"] == 16.14 and trips.loc[0, "threshold"] == 16.0
    alerts = workflows.load_alerts(seeded_db)
    assert list(alerts["kind"]) == ["guardrail_trip"]

    before = store_digest(seeded_db)
    again = step(seeded_db, DAYS[1], {"AAPL": 0.05, "KO": 0.1}, VIX_16, alerts=settings())
    assert again.status == "already done" and store_digest(seeded_db) == before

    paused = step(seeded_db, DAYS[2], {"KO": 0.1}, alerts=settings())
    assert paused.orders == 0 and "paused by the circuit breaker" in paused.guardrail
    assert len(workflows.load_alerts(seeded_db)) == 1  # one alert per trip
    assert workflows.resume_paper_trading(seeded_db, "ana@example.com")
    assert not workflows.resume_paper_trading(seeded_db, "ana@example.com")  # not paused
    status = workflows.guardrail_status(seeded_db, DAYS[2])
    assert not status.halted and status.step_date == DAYS[2]
    resumed = status.history.iloc[-1]
    assert (resumed["event"], resumed["actor"], resumed["step_date"]) == (
        "resumed",
        "ana@example.com",
        DAYS[2],
    )
    assert resumed["reason"] == tripped.guardrail
    readings = status.readings.set_index("check_name")
    assert list(readings.index) == ["drawdown", "live hit rate", "live ECE", "VIX", "slippage"]
    assert readings.loc["VIX", "reading"] == 14.97 and not readings["tripped"].any()
    assert "not enough evidence: 0 of the 30" in readings.loc["live hit rate", "reason"]
    assert step(seeded_db, DAYS[3], {"KO": 0.1}).orders == 1  # opening again


def test_a_missing_vix_bar_is_no_reading_and_no_trip(seeded_db) -> None:
    day = pd.Timestamp("2022-12-27")  # the sample's VIX ends in January 2019
    result = step(seeded_db, day, {"AAPL": 0.1}, VIX_16)
    assert result.status == "done" and result.guardrail == ""
    vix = workflows.guardrail_status(seeded_db).readings.set_index("check_name").loc["VIX"]
    assert np.isnan(vix["reading"]) and vix["reason"] == "no VIX close on 2022-12-27: no reading"


def _live_record(db_path, outcome_date: str) -> None:
    """40 forecasts of a beat (p 0.7) by run r1, none of which beat, scored on
    ``outcome_date``."""
    as_of = pd.bdate_range("2018-05-01", periods=40)
    keys = {"run_id": "r1", "as_of": as_of, "ticker": "AAPL"}
    forecasts = pd.DataFrame(keys | {"horizon": 5, "score": 0.1, "p": 0.7, "rank": 1})
    forecasts = forecasts.assign(percentile=1.0, reasons_digest="x")
    outcomes = pd.DataFrame(keys | {"outcome_date": pd.Timestamp(outcome_date), "excess": -0.01})
    with closing(open_db(db_path)) as db:
        live = LiveRecordRepository(db)
        live.record_forecasts(forecasts)
        live.record_outcomes(outcomes.assign(beat=0.0))


def test_live_checks_read_only_outcomes_known_by_the_step_date(seeded_db) -> None:
    _live_record(seeded_db, "2018-07-03")
    checks = (live_hit_rate, live_ece)
    before = evaluate_guardrails(GuardrailInputs(seeded_db, DAYS[0], "r1", 1, 1, LOOSE), checks)
    assert [r.tripped for r in before] == [False, False]
    assert all("0 of the 30" in r.reason for r in before)
    after = evaluate_guardrails(GuardrailInputs(seeded_db, DAYS[1], "r1", 1, 1, LOOSE), checks)
    assert [r.tripped for r in after] == [True, True]
    assert after[0].reading == 0.0 and after[0].threshold == 0.7
    assert after[1].reading == pytest.approx(0.7) and after[1].threshold == 0.15
    result = step(seeded_db, DAYS[1], {"AAPL": 0.1}, run_id="r1")
    assert result.guardrail.startswith("live hit rate 0.0%") and result.orders == 0
    names = workflows.guardrail_status(seeded_db).history["check_name"].tolist()
    assert names == ["live hit rate", "live ECE"]


def test_an_external_check_joins_the_list_in_one_line(seeded_db) -> None:
    slippage = external_check("slippage", lambda db, day: f"slippage beyond the model {day:%d}")
    inputs = GuardrailInputs(seeded_db, DAYS[0], None, 100.0, 100.0, LOOSE)
    readings = evaluate_guardrails(inputs, (*CHECKS, slippage))
    assert [r.name for r in readings][-1] == "slippage" and readings[-1].tripped
    assert readings[-1].reason == "slippage beyond the model 02"


def test_refused_orders_are_recorded_and_never_traded(seeded_db) -> None:
    capped = PaperParams(
        daily_loss_limit=0.5, circuit_breaker=0.9, pretrade=PretradeParams(max_order_notional=5e4)
    )
    result = step(seeded_db, DAYS[0], {"AAPL": 0.1, "KO": 0.01}, capped)
    assert (result.orders, result.refused) == (1, 1)
    orders = workflows.load_paper_state(seeded_db).orders.set_index("ticker")
    assert orders.loc["AAPL", "status"] == "cancelled" and orders.loc["KO", "status"] == "open"
    refusal = "order_notional: 99,996 is above the 50,000 cap per order"  # 2,236 shares at 44.721
    assert orders.loc["AAPL", "refused_by"] == refusal
    step(seeded_db, DAYS[1], {}, capped)
    state = workflows.load_paper_state(seeded_db)
    assert list(state.fills["ticker"]) == ["KO"] and list(state.positions["ticker"]) == ["KO"]


def test_a_refused_broker_order_is_marked_and_never_retried(seeded_db) -> None:
    assert step(seeded_db, DAYS[0], {"AAPL": 0.1, "KO": 0.01}).orders == 2
    capped = PretradeParams(max_order_notional=5e4)
    first = workflows.mirror_orders(seeded_db, BrokerSettings(), pretrade=capped)
    assert (first.recorded, first.refused) == (1, 1)
    assert any("refused by the pre-trade check order_notional" in m for m in first.messages)
    mirror = workflows.load_broker_orders(seeded_db).set_index("ticker")
    assert mirror.loc["AAPL", "state"] == "failed"
    assert mirror.loc["AAPL", "refused_by"] == "order_notional"
    assert mirror.loc["KO", "state"] == "dry_run" and mirror.loc["KO", "refused_by"] == ""
    again = workflows.mirror_orders(seeded_db, BrokerSettings())  # default caps would pass it
    assert again.refused == 0 and not any("AAPL" in m for m in again.messages)
    with closing(open_db(seeded_db)) as db:
        assert GuardrailRepository(db).history().empty
