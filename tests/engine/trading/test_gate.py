"""The Go / No-Go gate by hand: FIFO closed trades, the Wilson interval, a Sharpe and a
drawdown, each verdict, and the ramp's transitions (through the store)."""

from __future__ import annotations

from contextlib import closing

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from engine.metrics import max_drawdown, sharpe
from engine.trading.gate import (
    BETWEEN,
    GO,
    NO_GO,
    RAMP_STAGES,
    TOO_EARLY,
    closed_trades,
    evaluate_gate,
    ramp_proposal,
    step_returns,
)
from engine.workflows.trading import gate as gate_workflow
from store.db import open_db
from store.paper import PaperLedger

DAY = pd.Timestamp("2022-06-01")


def fill(ticker: str, day: int, quantity: float, price: float, fees: float = 1.0) -> dict:
    return {"ticker": ticker, "fill_date": DAY + pd.Timedelta(days=day),
            "quantity": quantity, "price": price, "fees": fees}  # fmt: skip


def round_trips(wins: int, n: int) -> pd.DataFrame:
    """``n`` buy-then-sell round trips of 10 shares, ``wins`` of them up 2 a share."""
    rows = []
    for i in range(n):
        rows += [
            fill(f"T{i}", i, 10, 100.0),
            fill(f"T{i}", i + 1, -10, 102.0 if i < wins else 99.0),
        ]
    return pd.DataFrame(rows)


def test_fifo_lots_make_one_closed_trade_per_reducing_fill_after_costs() -> None:
    fills = pd.DataFrame(
        [
            fill("A", 0, 10, 100.0), fill("A", 1, 10, 110.0), fill("A", 2, -15, 120.0, 3.0),
            fill("A", 3, -8, 90.0, 2.0),  # closes the 5 left at 110, opens a short of 3
            fill("A", 4, 3, 80.0, 0.0),  # covers the short
            fill("B", 0, 1, 100.0), fill("B", 1, -1, 101.0),  # up 1, costs 2: a loss
        ]
    )  # fmt: skip
    trades = closed_trades(fills)
    assert trades["ticker"].tolist() == ["A", "A", "A", "B"]
    # 10 @ 100 and 5 @ 110 out at 120: 200 + 50, less 10 + 5 shares of 0.1 entry fee, less 3
    assert trades.loc[0, "pnl"] == pytest.approx(250 - 1.5 - 3.0)
    assert trades.loc[0, "entry_price"] == pytest.approx((1000 + 550) / 15)
    assert trades.loc[0, "opened"] == DAY and trades.loc[0, "quantity"] == 15
    # 5 @ 110 out at 90: -100, entry fee 0.5, exit fee 5/8 of 2
    assert trades.loc[1, "pnl"] == pytest.approx(-100 - 0.5 - 1.25)
    # the short of 3 @ 90 (fee 3/8 of 2) covered at 80
    assert trades.loc[2, "pnl"] == pytest.approx(30 - 0.75)
    assert trades.loc[3, "pnl"] == pytest.approx(-1.0)


def test_win_rate_of_twelve_in_twenty_with_its_exact_wilson_interval() -> None:
    trades = closed_trades(round_trips(12, 20))
    assert len(trades) == 20 and (trades["pnl"] > 0).sum() == 12
    result = evaluate_gate(trades, pd.Series(dtype=float), forecasts(0))
    win = result.criteria[0]
    # z = 1.959964: centre (0.6 + z^2/40) / (1 + z^2/20), half z sqrt(0.012 + z^2/1600) / same
    z = 1.959963984540054
    centre = (0.6 + z**2 / 40) / (1 + z**2 / 20)
    half = z * np.sqrt(0.6 * 0.4 / 20 + z**2 / 1600) / (1 + z**2 / 20)
    assert win.interval.estimate == 0.6 and win.observations == 20
    assert (win.interval.low, win.interval.high) == pytest.approx((centre - half, centre + half))
    assert (win.interval.low, win.interval.high) == pytest.approx((0.386582, 0.781193), abs=1e-6)
    assert (win.interval.low, win.interval.high) == pytest.approx(
        proportion_confint(12, 20, method="wilson")
    )
    assert win.state == GO and win.straddles == (0.55, 0.50)


def test_a_sharpe_and_a_drawdown_by_hand() -> None:
    steps = pd.DataFrame(
        {"step_date": pd.date_range(DAY, periods=5),
         "equity": [100.0, 101.0, 101.0, 103.02, 101.9898]}
    )  # fmt: skip
    returns = step_returns(steps)
    assert returns.to_numpy() == pytest.approx([0.01, 0.0, 0.02, -0.01])
    # mean 0.005; squared deviations 0.005^2 * 2 + 0.015^2 * 2 = 0.0005 over 3
    assert sharpe(returns.to_numpy()) == pytest.approx(0.005 / np.sqrt(0.0005 / 3) * np.sqrt(252))
    # at full size: each return over the ramp's fraction in force at its first step (1%
    # before the change on the 3rd step's date, 5% from it)
    ramp = pd.DataFrame({"changed_on": [steps["step_date"].iloc[2]], "fraction": [0.05]})
    full = step_returns(steps, ramp)
    assert full.to_numpy() == pytest.approx([1.0, 0.0, 0.4, -0.2])
    curve = pd.Series([100.0, 110.0, 99.0, 105.0, 88.0, 120.0])  # peak 110, trough 88
    assert -max_drawdown(curve.pct_change().dropna().to_numpy()) == pytest.approx(0.2)


def forecasts(n: int, hits: int = 6) -> pd.DataFrame:
    """``n`` forecasts of P 0.6, ``hits`` of each 10 (one bin) up: an ECE of |hits/10 - 0.6|."""
    y = np.array([1.0 if i % 10 < hits else 0.0 for i in range(n)])
    dates = pd.date_range(DAY, periods=max(n, 1) // 2 + 1).repeat(2)[:n]
    return pd.DataFrame({"date": dates, "ticker": "A", "p": 0.6, "y": y})


def returns(n: int = 40, loss: float = -0.005) -> pd.Series:
    values = np.tile([0.01, loss], n // 2)
    return pd.Series(values, index=pd.bdate_range(DAY, periods=n))


@pytest.mark.parametrize(
    ("trades", "r", "scored", "verdict"),
    [
        (round_trips(12, 20), returns(), forecasts(30), GO),
        (round_trips(9, 20), returns(), forecasts(30), NO_GO),  # win rate 45%
        (round_trips(12, 20), returns(loss=-0.00956), forecasts(30), BETWEEN),  # Sharpe 0.35
        (round_trips(12, 20), returns(), forecasts(30, hits=8), NO_GO),  # ECE 20%
        (round_trips(12, 20), returns(loss=-0.09), forecasts(30), NO_GO),  # drawdown
        (round_trips(13, 25), returns(), forecasts(30), BETWEEN),  # win rate 52%
        (round_trips(12, 19), returns(), forecasts(30), TOO_EARLY),  # 19 closed trades
        (round_trips(12, 20), returns(18), forecasts(30), TOO_EARLY),  # 18 returns
        (round_trips(12, 20), returns(), forecasts(20), TOO_EARLY),  # 20 forecasts
    ],
)
def test_each_verdict(trades, r, scored, verdict) -> None:
    result = evaluate_gate(closed_trades(trades), r, scored, n_boot=100)
    assert result.verdict == verdict, result.table()
    table = result.table()
    assert table["criterion"].tolist() == [
        "win rate",
        "Sharpe",
        "calibration error",
        "max drawdown",
    ]
    assert (
        table["observations"] == [len(closed_trades(trades)), len(r), len(scored), len(r)]
    ).all()


def test_the_ramp_moves_one_stage_on_go_drops_on_no_go_and_never_by_itself() -> None:
    on = {"as_of": DAY}
    assert ramp_proposal(0, GO, **on) == 1 and ramp_proposal(1, GO, **on) == 2
    assert ramp_proposal(2, GO, **on) is None  # 10% is the last stage
    assert ramp_proposal(2, NO_GO, **on) == 0 and ramp_proposal(0, NO_GO, **on) is None
    assert all(ramp_proposal(s, v, **on) is None for s in (0, 1, 2) for v in (BETWEEN, TOO_EARLY))
    assert ramp_proposal(0, GO, changed_on=DAY, as_of=DAY) is None  # one change per date


def write_journal(path) -> None:
    """A paper account with 20 round trips (12 wins) and 41 steps (40 returns, at full
    size those of ``returns(40)``)."""
    with closing(open_db(path)) as db:
        ledger = PaperLedger(db)
        ledger.open_account(1_000_000.0)
        for i, row in enumerate(round_trips(12, 20).to_dict("records")):
            order = {"client_order_id": f"o{i}", "step_date": row["fill_date"],
                     "ticker": row["ticker"], "quantity": row["quantity"]}  # fmt: skip
            ledger.add_order(order)
            ledger.record_fill({"fill_id": f"f{i}", "client_order_id": f"o{i}", **row})
        # the account trades the first stage's 1% of the targets: its equity moves 1% as much
        deployed = RAMP_STAGES[0] * returns(40).to_numpy()
        equity = 1_000_000.0 * np.cumprod(np.r_[1.0, 1 + deployed])
        for day, value in zip(pd.bdate_range(DAY, periods=41), equity, strict=True):
            step = {"step_date": f"{day:%Y-%m-%d}", "equity": value, "cash": value,
                    "peak_equity": value, "orders": 0, "fills": 0, "guardrail": ""}  # fmt: skip
            ledger.record_step(step)


@pytest.fixture
def journal(tmp_path, monkeypatch):
    """The journal, with 30 scored forecasts (ECE 0, or |hits / 10 - 0.6|)."""
    path = tmp_path / "gate.db"
    write_journal(path)
    scored = {"hits": 6}
    monkeypatch.setattr(gate_workflow, "_outcomes", lambda *a: forecasts(30, scored["hits"]))
    return path, scored


def test_ramp_changes_need_the_gate_and_a_confirmation_and_are_recorded(journal) -> None:
    path, scored = journal
    report = gate_workflow.run_gate(path, n_boot=50)
    assert report.gate.verdict == GO and report.stage == 0 and report.proposal == 1
    assert report.history.empty  # run_gate alone never moves the stage
    changed = gate_workflow.change_ramp(path)
    assert changed.stage == 1 and changed.fraction == 0.05 and changed.proposal is None
    record = changed.history.iloc[-1]
    assert (record["stage"], record["verdict"], record["reason"]) == (1, GO, "advanced on GO")
    assert (
        record["changed_on"] == f"{report.as_of:%Y-%m-%d}" and '"win rate"' in record["gate_json"]
    )
    with pytest.raises(ValueError, match="stays at 5%"):  # a second change on the same date
        gate_workflow.change_ramp(path)
    scored["hits"] = 9  # calibration error 30%: NO-GO
    later = report.as_of + pd.Timedelta(days=1)
    assert gate_workflow.run_gate(path, later).proposal == 0
    dropped = gate_workflow.change_ramp(path, later)
    assert dropped.stage == 0 and dropped.history["reason"].tolist()[-1] == "dropped on NO-GO"
    with pytest.raises(ValueError, match="NO-GO"):
        gate_workflow.change_ramp(path, later + pd.Timedelta(days=1))  # already at 1%


def test_a_new_verdict_alerts_once_and_the_same_verdict_does_not(journal) -> None:
    from engine import workflows  # noqa: PLC0415

    path, scored = journal
    recorded = workflows.AlertSettings()  # no channel: recorded only
    assert gate_workflow.run_gate(path, n_boot=20).gate.verdict == GO  # alerts off: nothing
    assert workflows.load_alerts(path).empty
    gate_workflow.run_gate(path, n_boot=20, alerts=recorded)
    gate_workflow.run_gate(path, n_boot=20, alerts=recorded)  # the same verdict again
    log = workflows.load_alerts(path)
    assert log["title"].tolist() == ["Go / No-Go: GO (was not enough evidence yet)"]
    scored["hits"] = 10  # every forecast of 0.6 came true: ECE 0.4, past the NO-GO line
    assert gate_workflow.run_gate(path, n_boot=20, alerts=recorded).gate.verdict == NO_GO
    log = workflows.load_alerts(path)
    assert log["title"].iloc[0] == "Go / No-Go: NO-GO (was GO)" and len(log) == 2
    assert (log["kind"] == "gate_change").all()
