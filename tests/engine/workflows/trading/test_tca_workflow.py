"""Transaction-cost analysis on the sample store: real paper steps reconcile with the
journal, a recorded broker fill's implementation shortfall, the slippage guardrail's check
on planted broker fills, and nothing after the as-of date is read."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.data.calendar import sessions_between
from engine.trading.broker import BrokerSettings, make_client
from engine.trading.execution import CostModel
from engine.trading.tca import BPS
from engine.workflows.trading.tca import fill_costs_as_of, slippage_check, transaction_costs
from store.broker import BrokerRepository
from store.db import open_db
from store.paper import PaperLedger
from tests.recorded_http import recorded_session

PAPER = BrokerSettings(mode="paper", key_id="PKTESTKEY0123456789", secret_key="s" * 32)
STEPS = {  # session: targets decided at its close
    "2018-07-02": {"AAPL": 0.10, "KO": 0.05},
    "2018-07-03": {"AAPL": 0.04, "KO": 0.08},
    "2018-07-05": {"AAPL": 0.0, "KO": 0.08},
}


def targets(weights: dict[str, float]) -> pd.DataFrame:
    nan = [np.nan] * len(weights)
    return pd.DataFrame(
        {"target_weight": list(weights.values()), "stop": nan, "take_profit": nan}
        | {"trailing": [False] * len(weights)},
        index=pd.Index(list(weights), name="ticker"),
    )


def step(path: Path, day: str) -> None:
    result = workflows.paper_step(
        path, pd.Timestamp(day), ["AAPL", "KO"], targets=targets(STEPS[day])
    )
    assert result.status == "done", result.message


def bars(path: Path) -> pd.DataFrame:
    """Stored bars by (date, ticker), ``open`` being the price the execution model trades
    at the open: the close where the source has no open (the sample's close-only days)."""
    prices = workflows.load_prices(path, ["AAPL", "KO", "JPM"])
    prices["open"] = prices["open"].fillna(prices["close"])
    return prices.set_index(["date", "ticker"])


def test_paper_fills_reconcile_with_the_journal(seeded_db: Path) -> None:
    for day in STEPS:
        step(seeded_db, day)
    report = transaction_costs(seeded_db, pd.Timestamp("2018-07-05"), "paper")
    tca = report.fills.set_index("fill_id")
    state = workflows.load_paper_state(seeded_db)
    journal = state.fills.set_index("fill_id")
    decided = journal["client_order_id"].map(state.orders.set_index("client_order_id")["step_date"])
    assert sorted(tca.index) == sorted(journal.index) and len(tca) == 4
    assert set(tca["side"]) == {"buy", "sell"}
    prices = bars(seeded_db)
    for fill_id, row in tca.iterrows():
        booked = journal.loc[fill_id]
        assert row["decided"] == decided[fill_id]  # the step that decided the target
        assert row["date"] == booked["fill_date"] and row["fill_price"] == booked["price"]
        assert row["decision_price"] == prices.loc[(row["decided"], row["ticker"]), "close"]
        assert row["arrival_price"] == prices.loc[(row["date"], row["ticker"]), "open"]
        notional = abs(booked["quantity"]) * row["decision_price"] / BPS
        # the execution cost is the half-spread and impact the journal booked, in bps
        assert row["execution_bps"] * notional == pytest.approx(booked["spread"] + booked["impact"])
        assert row["commission_bps"] * notional == pytest.approx(booked["fees"])
        # ... and the model's estimate of the same trade is exactly that
        assert row["estimated_execution_bps"] == pytest.approx(row["execution_bps"], abs=1e-9)
        assert row["estimated_commission_bps"] == pytest.approx(row["commission_bps"])
        move = np.sign(booked["quantity"]) * (row["arrival_price"] / row["decision_price"] - 1)
        assert row["delay_bps"] == pytest.approx(move * BPS)
    overall = report.summary.set_index("group").loc["all fills"]
    assert overall["fills"] == 4 and overall["excess_bps"] == pytest.approx(0.0, abs=1e-9)
    # the sample is close-only: no volume, so every fill pays the fixed impact and none
    # can tell the impact coefficient
    assert set(tca["size_bucket"]) == {"volume unknown"}
    assert report.reestimate.needed == 30 and report.reestimate.half_spread_bps is None
    assert report.reestimate.message.startswith("0 fill(s) with a measured volume")
    # nothing after the as-of date: later fills and poisoned later prices change nothing
    before = fill_costs_as_of(seeded_db, pd.Timestamp("2018-07-03"), "paper")[0]
    assert len(before) == 2 and (before["date"] == pd.Timestamp("2018-07-03")).all()
    with sqlite3.connect(seeded_db) as conn:
        conn.execute(
            "UPDATE prices SET open = open * 3, close = close * 3 WHERE date > '2018-07-03'"
        )
    conn.close()
    after = fill_costs_as_of(seeded_db, pd.Timestamp("2018-07-03"), "paper")[0]
    pd.testing.assert_frame_equal(before, after)


def test_a_recorded_broker_fill_s_implementation_shortfall(seeded_db: Path) -> None:
    step(seeded_db, "2018-07-02")
    session, adapter = recorded_session()
    adapter.add(
        "/v2/orders",
        [(200, "alpaca/order_AAPL_accepted.json"), (200, "alpaca/order_KO_accepted.json")],
        method="POST",
    )
    workflows.mirror_orders(seeded_db, PAPER, client=make_client(PAPER, session=session))
    session, adapter = recorded_session()
    adapter.add("/v2/account", [(200, "alpaca/account.json")])
    adapter.add("/v2/orders", [(200, "alpaca/orders_all.json")], status="all", limit="500")
    adapter.add("/v2/positions", [(200, "alpaca/positions.json")])
    workflows.reconcile_broker(seeded_db, PAPER, client=make_client(PAPER, session=session))
    report = transaction_costs(seeded_db, pd.Timestamp("2018-07-03"), "broker")
    assert report.unpriced == 1  # KO: partially filled, no fill time reported
    (row,) = report.fills.itertuples()
    prices = bars(seeded_db)
    decision = prices.loc[(pd.Timestamp("2018-07-02"), "AAPL"), "close"]
    arrival = prices.loc[(pd.Timestamp("2018-07-03"), "AAPL"), "open"]
    assert (row.fill_id, row.ticker, row.shares, row.fill_price) == (
        "20180702-AAPL",
        "AAPL",
        100.0,
        187.62,
    )
    assert row.decided == pd.Timestamp("2018-07-02") and row.date == pd.Timestamp("2018-07-03")
    assert (row.decision_price, row.arrival_price) == (decision, arrival)
    assert row.delay_bps == pytest.approx((arrival / decision - 1) * BPS)
    assert row.execution_bps == pytest.approx((187.62 - arrival) / decision * BPS)
    assert row.shortfall_bps == pytest.approx((187.62 / decision - 1) * BPS)
    assert np.isnan(row.commission_bps)  # the broker reports none
    assert row.excess_bps == pytest.approx(row.execution_bps - row.estimated_execution_bps)
    assert transaction_costs(seeded_db, pd.Timestamp("2018-07-02"), "broker").fills.empty


SESSIONS = sessions_between(pd.Timestamp("2018-08-01"), pd.Timestamp("2018-09-28"))
TICKERS = ("AAPL", "KO", "JPM")


def mirror_fills(path: Path, price_of) -> None:
    """Journal orders decided on each of ``SESSIONS`` but the last, each filled at the
    broker the next session at ``price_of(row)`` (row: the order's TCA row, or None)."""
    rng = np.random.default_rng(5)
    with closing(open_db(path)) as db:
        ledger, mirror = PaperLedger(db), BrokerRepository(db)
        ledger.open_account(1_000_000.0)
        for decided, filled in zip(SESSIONS[:-1], SESSIONS[1:], strict=True):
            for ticker in TICKERS:
                cid = f"{decided:%Y%m%d}-{ticker}"
                quantity = float(rng.choice([-1, 1]) * rng.integers(100, 3000))
                ledger.add_order(
                    {"client_order_id": cid, "step_date": decided, "ticker": ticker}
                    | {"quantity": quantity, "target_weight": 0.01}
                )
                mirror.record(
                    cid,
                    **{"ticker": ticker, "mode": "paper", "state": "sent", "request_json": "{}"},
                    **{"broker_status": "filled", "filled_qty": quantity},
                    filled_avg_price=price_of(cid, ticker, filled, quantity),
                    filled_at=f"{filled:%Y-%m-%d}T13:30:05Z",
                )


def test_the_slippage_check_trips_on_planted_cost_only_up_to_as_of(seeded_db: Path) -> None:
    prices = bars(seeded_db)
    mirror_fills(seeded_db, lambda cid, t, day, q: prices.loc[(day, t), "open"])  # at the open
    end, middle = SESSIONS[-1], SESSIONS[20]
    tca = fill_costs_as_of(seeded_db, end, "broker")[0].set_index("fill_id")
    assert len(tca) == 3 * (len(SESSIONS) - 1)
    noise = dict(zip(tca.index, np.random.default_rng(9).normal(0.0, 1.0, len(tca)), strict=True))

    def priced(extra_after: pd.Timestamp | None, extra_bps: float):
        def price(cid, ticker, day, quantity):
            row = tca.loc[cid]
            cost = row["estimated_execution_bps"] + noise[cid]  # at the model's estimate
            if extra_after is not None and day > extra_after:
                cost += extra_bps
            return row["arrival_price"] + np.sign(quantity) * cost / BPS * row["decision_price"]

        return price

    mirror_fills(seeded_db, priced(None, 0.0))
    assert slippage_check(seeded_db, end, 5.0) is None
    mirror_fills(seeded_db, priced(middle, 25.0))  # extra cost after the middle session only
    assert slippage_check(seeded_db, middle, 5.0) is None  # those fills are after it
    reason = slippage_check(seeded_db, end, 5.0)
    assert reason is not None and "wholly above the 5 bps tolerance" in reason
    assert f"over {len(tca)} fills" in reason
    assert slippage_check(seeded_db, end, 5.0, source="paper") is None  # no paper fills
    costly = transaction_costs(seeded_db, end, "broker", params=workflows.PaperParams())
    assert costly.summary.set_index("group").loc["all fills", "fills"] == len(tca)
    assert costly.reestimate.in_force == CostModel() and costly.reestimate.fills == 0
    with pytest.raises(ValueError, match="source must be one of paper, broker"):
        slippage_check(seeded_db, end, source="alpaca")
