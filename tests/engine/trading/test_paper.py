"""The paper step on the sample store with a trained model: targets by the backtest's
sizing rule, fills at the next session by the execution model, idempotence, stale data,
guardrails, and a SIGKILL in the middle of steps."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.data.calendar import sessions_between
from engine.features.panel import to_wide
from engine.features.regime import REGIME_NAMES
from engine.modeling.labels import LabelParams
from engine.modeling.learners import LearnerParams
from engine.modeling.training import TrainConfig
from engine.trading.construction import ConstructionParams, constructed_weight_arrays, rebalance_due
from engine.trading.gate import RAMP_STAGES
from engine.trading.paper import PAPER_DIFFERENCES, PaperParams
from engine.trading.sizing import SizingParams, sized_weight_arrays, win_loss_ratio
from engine.workflows.modeling.runs import run_horizon
from engine.workflows.research.backtests import set_run_construction
from engine.workflows.research.risk_models import construction_risk
from store.db import open_db
from store.paper import PaperLedger
from tests.builders import store_digest

TICKERS = ["AAPL", "JPM", "KO", "XOM", "MSFT", "PG"]
CONFIG = TrainConfig(
    tuple(TICKERS),
    pd.Timestamp("2014-01-01"),
    pd.Timestamp("2018-06-29"),
    train_months=12,
    test_months=6,
    n_boot=20,
    label=LabelParams(kind="direction"),  # these tests follow the Kelly sizing rule
    learner=LearnerParams(kind="market_timing", n_estimators=150),
)
DAYS = sessions_between(pd.Timestamp("2018-07-02"), pd.Timestamp("2018-08-31"))
LOOSE = PaperParams(daily_loss_limit=0.5, circuit_breaker=0.9)


@pytest.fixture(scope="module")
def trained_store(_seeded_template, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("paper") / "template.db"
    path.write_bytes(Path(_seeded_template).read_bytes())
    record = workflows.train_model(path, CONFIG)
    workflows.activate_run(path, record.run_id)
    return path


@pytest.fixture
def store(trained_store, tmp_path) -> Path:
    path = tmp_path / "paper.db"
    path.write_bytes(trained_store.read_bytes())
    return path


def test_steps_place_orders_fill_them_next_session_and_replay(store) -> None:
    day, next_day = DAYS[5], DAYS[6]  # P(up) 0.518 from here on: the model sizes positions
    first = workflows.paper_step(store, day, TICKERS, params=LOOSE)
    assert first.status == "done" and first.fills == 0 and first.orders > 0
    state = workflows.load_paper_state(store)
    placed = state.orders
    assert len(placed) == first.orders and (placed["status"] == "open").all()
    assert placed["client_order_id"].str.startswith(f"{day:%Y%m%d}-").all()
    second = workflows.paper_step(store, next_day, TICKERS, params=LOOSE)
    assert second.fills == first.orders
    state = workflows.load_paper_state(store)
    fills = state.fills
    assert (fills["fill_date"] == next_day).all()
    prices = workflows.load_prices(store, TICKERS)
    close = prices[prices["date"] == next_day].set_index("ticker")["close"]  # close-only source
    for fill in fills.itertuples():  # the execution model's price: half-spread and impact
        q, side, ref = abs(fill.quantity), np.sign(fill.quantity), close[fill.ticker]
        assert fill.reason == "rebalance" and fill.spread == pytest.approx(q * ref * 0.0005)
        assert fill.price * q == pytest.approx(ref * q + side * (fill.spread + fill.impact))
        assert fill.fees == max(1.0, 0.005 * q)
    positions, cash = (state.replay_positions, state.replay_cash)
    assert positions == dict(
        zip(state.positions["ticker"], state.positions["quantity"], strict=True)
    )
    assert cash == pytest.approx(state.cash)
    assert len(state.positions) == second.fills and state.positions["stop"].notna().all()


def test_targets_follow_the_backtest_sizing_rule_times_the_ramp(store, tmp_path) -> None:
    """The same forecasts give the paper step the backtest's targets times the capital
    ramp's stage: 1% of them before any change of stage, 5% after the first."""
    day = DAYS[5]  # P(up) 0.518: the model's edge is large enough to size positions
    ramped = tmp_path / "ramped.db"
    ramped.write_bytes(store.read_bytes())
    with open_db(ramped) as db:
        PaperLedger(db).record_ramp("2018-07-02", 1, RAMP_STAGES[1], {"verdict": "GO"}, "test")
    forecasts = workflows.forecast(store, workflows.build_snapshot(store, TICKERS, day))
    regime = [float(REGIME_NAMES.index(n)) for n in forecasts["regime"]]
    predictions = pd.DataFrame(
        {"p": forecasts["p_up"].to_numpy(), "regime_id": regime},
        index=pd.MultiIndex.from_arrays(
            [forecasts.index, pd.DatetimeIndex([day] * len(forecasts))],
            names=["ticker", "date"],
        ),
    )
    panel = to_wide(workflows.load_prices(store, TICKERS, end=day))
    model, _ = workflows.load_model(store)
    ratio = win_loss_ratio(model.outcome_returns_)
    weights, stops, targets, trailing = sized_weight_arrays(
        panel, predictions, ratio, SizingParams()
    )
    quantities = []
    for path, fraction in ((store, 0.01), (ramped, 0.05)):
        workflows.paper_step(path, day, TICKERS, params=LOOSE)
        with open_db(path) as db:
            stored = PaperLedger(db).targets(f"{day:%Y-%m-%d}")
            quantities.append(PaperLedger(db).orders().set_index("ticker")["quantity"])
        expected = pd.DataFrame(
            {"target_weight": weights[-1] * fraction, "stop": stops[-1],
             "take_profit": targets[-1], "trailing": trailing[-1]},
            index=list(panel.tickers),
        )  # fmt: skip
        pd.testing.assert_frame_equal(stored.sort_index(), expected.sort_index(), check_names=False)
        assert (stored["target_weight"] > 0).any()
    small, large = quantities  # whole shares: 5 times as many, less at most 5 of rounding
    assert len(small) > 0 and set(small.index) <= set(large.index)
    assert ((large.loc[small.index] - 5 * small).abs() <= 5).all()


def test_the_same_step_twice_changes_nothing(store) -> None:
    workflows.paper_step(store, DAYS[0], TICKERS, params=LOOSE)
    before = store_digest(store)
    again = workflows.paper_step(store, DAYS[0], TICKERS, params=LOOSE)
    assert again.status == "already done"
    assert store_digest(store) == before


def test_stale_data_blocks_the_step(store) -> None:
    result = workflows.paper_step(store, pd.Timestamp("2023-01-04"), TICKERS, params=LOOSE)
    assert result.status == "blocked" and "Stale data" in result.message
    assert "AAPL (last close 2022-12-28)" in result.message


def test_a_tripped_circuit_breaker_blocks_new_orders_until_resumed(store) -> None:
    workflows.paper_step(store, DAYS[0], TICKERS, params=LOOSE)
    tight = PaperParams(circuit_breaker=1e-9)  # any dip from the peak trips it
    tripped = None
    for day in DAYS[1:15]:
        result = workflows.paper_step(store, day, TICKERS, params=tight)
        if result.guardrail:
            tripped = result
            break
    assert tripped is not None and "circuit breaker" in tripped.guardrail and tripped.orders == 0
    state = workflows.load_paper_state(store)
    assert state.account.halted
    nxt = DAYS[DAYS.get_loc(tripped.step_date) + 1]
    blocked = workflows.paper_step(store, nxt, TICKERS, params=LOOSE)
    assert blocked.orders == 0 and "paused by the circuit breaker" in blocked.guardrail
    workflows.resume_paper_trading(store)
    resumed = workflows.paper_step(store, DAYS[DAYS.get_loc(nxt) + 1], TICKERS, params=LOOSE)
    assert resumed.guardrail == "" and not workflows.load_paper_state(store).account.halted


def _run_steps(path: str, days: list, ready=None) -> None:
    if ready is not None:  # imports done (they take seconds on a busy machine)
        ready.set()
    for day in days:
        workflows.paper_step(path, day, TICKERS, params=LOOSE)


def test_sigkill_in_the_middle_of_steps_leaves_whole_orders(store, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "__main__", type(sys)("__main__"))  # AppTest leaks app.py
    days = list(DAYS[:12])
    context = multiprocessing.get_context("spawn")
    rng = random.Random(5)
    for _ in range(3):
        ready = context.Event()
        child = context.Process(target=_run_steps, args=(str(store), days, ready))
        child.start()
        assert ready.wait(120)
        time.sleep(rng.uniform(1.0, 6.0))
        if child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
        child.join()
        with sqlite3.connect(store) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        try:
            state = workflows.load_paper_state(store)
        except workflows.StoreError:  # killed before its first write: nothing to check
            continue
        orders, fills = state.orders, state.fills
        filled = set(orders.loc[orders["status"] == "filled", "client_order_id"])
        assert filled == set(fills["client_order_id"])  # an order is filled iff its fill exists
        steps = state.steps["step_date"].tolist()
        assert steps == sorted(set(steps))
        assert set(orders["step_date"]) <= set(steps)  # no order without its step
        assert state.replay_cash == pytest.approx(state.cash)
        assert state.replay_matches
    _run_steps(str(store), days)  # finish what was interrupted
    steps = workflows.load_paper_state(store).steps["step_date"].tolist()
    assert steps == list(days)
    with open_db(store) as db:
        ledger = PaperLedger(db)
        fill = ledger.fills().iloc[0].to_dict()
        assert not ledger.record_fill({**fill, "client_order_id": fill["client_order_id"]})


def test_a_top_k_run_trades_the_backtests_decisions_with_its_holdings(store) -> None:
    """A top_k run in paper decides as the backtest does on the same days: nothing held
    at the first step, then on the next rebalance session with the names it holds."""
    construction = ConstructionParams(method="top_k", k=3, max_replacements=1)
    _, record = workflows.load_model(store)
    set_run_construction(store, record.run_id, construction)
    first = DAYS[5]
    due = DAYS[(np.arange(len(DAYS)) > 6) & rebalance_due(DAYS, construction.rebalance)][0]
    frames, stored = [], {}
    for day in DAYS[5 : DAYS.get_loc(due) + 1]:
        assert workflows.paper_step(store, day, TICKERS, params=LOOSE).status == "done"
        with open_db(store) as db:
            stored[day] = PaperLedger(db).targets(f"{day:%Y-%m-%d}")
        if day in (first, due):
            forecasts = workflows.forecast(store, workflows.build_snapshot(store, TICKERS, day))
            frames.append(
                pd.DataFrame(
                    {
                        "p": forecasts["p_up"].to_numpy(),
                        "regime_id": [float(REGIME_NAMES.index(n)) for n in forecasts["regime"]],
                    },
                    index=pd.MultiIndex.from_product(
                        [forecasts.index, [day]], names=["ticker", "date"]
                    ),
                )
            )
    assert all(stored[d].empty for d in stored if d not in (first, due))  # no rebalance
    panel = to_wide(workflows.load_prices(store, TICKERS, end=due))
    model, _ = workflows.load_model(store)
    weights, stops, *_ = constructed_weight_arrays(
        panel,
        pd.concat(frames),
        win_loss_ratio(model.outcome_returns_),
        SizingParams(),
        construction,
    )
    for day in (first, due):
        row = panel.dates.get_loc(day)
        expected = pd.Series(
            weights[row] * RAMP_STAGES[0], index=list(panel.tickers), name="target_weight"
        )
        got = stored[day]["target_weight"].sort_index()
        pd.testing.assert_series_equal(got, expected.sort_index(), check_names=False)
        assert stored[day]["stop"].isna().all() and not stored[day]["trailing"].any()
    assert (stored[first]["target_weight"] > 0).sum() == 3
    assert (stored[due]["target_weight"] > 0).sum() == 3
    assert "positions the account holds" in PAPER_DIFFERENCES[4]


def test_the_paper_book_is_analysed_as_it_stood_on_each_day(store) -> None:
    for day in DAYS[5:13]:
        workflows.paper_step(store, day, TICKERS, params=LOOSE)
    state = workflows.load_paper_state(store)
    analysis = workflows.paper_book_risk(store)
    held = state.positions.set_index("ticker")["quantity"]
    rebuilt = workflows.paper_positions(state.fills, pd.DatetimeIndex(state.steps["step_date"]))
    assert rebuilt.iloc[-1][held.index].to_dict() == held.to_dict()
    stress = analysis.stress
    assert stress.as_of == DAYS[12] and stress.decomposition is not None
    weights = stress.weights[stress.weights != 0]
    assert set(weights.index) == set(held[held != 0].index)
    names = stress.decomposition.name_contributions
    assert names.sum() == pytest.approx(stress.decomposition.volatility, rel=1e-9)
    daily = analysis.attribution.daily
    equity = state.steps.set_index("step_date")["equity"]
    np.testing.assert_allclose(daily["total"], equity.pct_change().reindex(daily.index), atol=1e-12)
    np.testing.assert_allclose(daily.drop(columns="total").sum(axis=1), daily["total"], atol=1e-10)
    # as of an earlier day: that day's positions and cash, nothing later
    earlier = workflows.paper_book_risk(store, DAYS[7])
    assert earlier.stress.as_of == DAYS[7]
    then = rebuilt.loc[DAYS[7]]
    assert set(earlier.stress.weights[earlier.stress.weights != 0].index) == set(
        then[then != 0].index
    )
    assert earlier.attribution.daily.index.max() <= DAYS[7]
    with pytest.raises(workflows.StoreError, match="no paper step on or before"):
        workflows.paper_book_risk(store, DAYS[0])


@pytest.mark.parametrize(
    "construction",
    [
        ConstructionParams(method="factor_neutral", neutral_to="beta", quantile=0.34),
        ConstructionParams(method="black_litterman", k=3, covariance_source="factor"),
    ],
    ids=["factor_neutral to beta", "black_litterman on the risk model"],
)
def test_risk_model_constructions_trade_the_backtests_decisions(store, construction) -> None:
    """The paper step builds the risk model as of its day and decides as the backtest's
    rule does with the model built later (each decision reads its own date's model)."""
    _, record = workflows.load_model(store)
    set_run_construction(store, record.run_id, construction)
    day = DAYS[5]
    assert workflows.paper_step(store, day, TICKERS, params=LOOSE).status == "done"
    with open_db(store) as db:
        stored = PaperLedger(db).targets(f"{day:%Y-%m-%d}")["target_weight"]
    forecasts = workflows.forecast(store, workflows.build_snapshot(store, TICKERS, day))
    frame = pd.DataFrame(
        {
            "p": forecasts["p_up"].to_numpy(),
            "regime_id": [float(REGIME_NAMES.index(n)) for n in forecasts["regime"]],
        },
        index=pd.MultiIndex.from_product([forecasts.index, [day]], names=["ticker", "date"]),
    )
    later = DAYS[20]
    panel = to_wide(workflows.load_prices(store, TICKERS, end=day))
    model, _ = workflows.load_model(store)
    risk, scale = construction_risk(
        store,
        construction,
        TICKERS,
        later,
        outcome_returns=model.outcome_returns_,
        horizon=run_horizon(record),
    )
    assert risk is not None
    weights, *_ = constructed_weight_arrays(
        panel,
        frame,
        win_loss_ratio(model.outcome_returns_),
        SizingParams(),
        construction,
        risk=risk,
        view_scale=scale,
    )
    expected = pd.Series(weights[-1] * RAMP_STAGES[0], index=list(panel.tickers))
    np.testing.assert_allclose(
        stored.sort_index().to_numpy(), expected.sort_index().to_numpy(), rtol=1e-9, atol=1e-12
    )
    assert (stored != 0).sum() >= 2
