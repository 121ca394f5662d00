"""Paper trading and the backtest share one execution model: the same targets on the same
price path give the same fills, cash and equity every day. Then one test per documented
paper difference (engine.trading.paper.PAPER_DIFFERENCES).

The path (44 sessions, four tickers) is built so that every rule is exercised: a gap
through a stop, a take-profit, a short whose bar touches both levels, a trailing stop,
re-entry blocks and the targets that lift them, buys cut to the cash, a close-only ticker,
a ticker without volume (fixed impact), days without a decision.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.data.calendar import sessions_between
from engine.data.schema import FetchResult
from engine.features.panel import to_wide
from engine.trading.backtest import BacktestConfig, run_backtest
from engine.trading.paper import PAPER_DIFFERENCES, PaperParams
from engine.trading.pretrade import PretradeParams
from store import migrations
from store.db import open_db
from store.paper import PaperLedger
from tests.builders import store_digest

T = 44
DATES = sessions_between(pd.Timestamp("2022-01-03"), pd.Timestamp("2022-04-29"))[:T]
TICKERS = ("BIG", "CLO", "GAP", "TRL")  # the panel's (sorted) order
BIG, CLO, GAP, TRL = range(4)
NO_CAPS = PretradeParams(  # the scenario's orders are large for its volumes
    max_adv_fraction=1.0, price_band=1.0, max_order_notional=1e12, max_daily_notional=1e13
)
LOOSE = PaperParams(daily_loss_limit=1.0, circuit_breaker=1.0, pretrade=NO_CAPS)
CHECKPOINT = 25  # the shared run is copied after this step for the tests that diverge
EVENTS = {  # (ticker, day): (open, high, low, close)
    (GAP, 27): (18.0, 18.3, 17.8, 18.1),  # gaps through the stop at 19: filled at the open
    (GAP, 35): (20.0, 23.5, 19.6, 23.0),  # take-profit at 23
    (GAP, 41): (20.0, 21.8, 17.5, 20.0),  # a short's stop (21.5) and target (18) both touched
    (TRL, 26): (10.5, 11.05, 10.45, 11.0),  # up: the trailing stop follows the close
    (TRL, 27): (11.5, 12.05, 11.45, 12.0),
    (TRL, 28): (12.5, 13.05, 12.45, 13.0),
    (TRL, 29): (12.8, 12.9, 11.5, 11.8),  # down through the trailed stop (about 12)
    (CLO, 30): (np.nan, np.nan, np.nan, 28.0),  # a close-only ticker closes below its stop
}


def _event_path() -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Prices (long frame) and the target arrays (T x N) of the scenario."""
    rng = np.random.default_rng(7)
    levels = {BIG: 50.0, CLO: 30.0, GAP: 20.0, TRL: 10.0}
    after = {(TRL, 30): 11.8, (CLO, 31): 28.0}  # new quiet levels from these days on
    frames = []
    for j, ticker in enumerate(TICKERS):
        level = np.full(T, levels[j])
        for (k, day), value in after.items():
            if k == j:
                level[day:] = value
        close = level * (1 + rng.normal(0, 0.003, T))
        open_ = close * (1 + rng.normal(0, 0.002, T))
        high, low = np.maximum(open_, close) * 1.002, np.minimum(open_, close) * 0.998
        for (k, day), bar in EVENTS.items():
            if k == j:
                open_[day], high[day], low[day], close[day] = bar
        volume = np.full(T, np.nan) if j == BIG else rng.uniform(5e4, 2e5, T)
        if j == CLO:
            open_[:], high[:], low[:] = np.nan, np.nan, np.nan
        frames.append(
            pd.DataFrame(
                {
                    "ticker": ticker,
                    "date": DATES,
                    "open": open_,
                    "high": high,
                    "low": low,
                    "close": close,
                    "volume": volume,
                }
            )  # fmt: skip
        )
    shape = (T, len(TICKERS))
    w, stop, target = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    trailing = np.zeros(shape, dtype=bool)
    w[2:23] = 0.1  # early trades: too little history to measure impact
    w[23] = [0.1, 0.0, 0.0, 0.0]  # flat before the scenario (new positions take new levels)
    w[24:44] = [0.6, 0.3, 0.3, 0.3]  # 1.5 of equity wanted: every buy is cut to the cash
    w[31, GAP] = 0.0  # lifts GAP's re-entry block
    w[38:44, GAP] = -0.2  # a short: another side lifts the block too
    stop[24:44] = [np.nan, 28.5, 19.0, 9.0]
    target[24:44] = [np.nan, 40.0, 23.0, 20.0]
    stop[38:44, GAP], target[38:44, GAP] = 21.5, 18.0
    trailing[24:44, TRL] = True
    w[[0, 1, 10, 15, 40]] = np.nan  # no decision on these days
    arrays = {"weights": w, "stops": stop, "take_profits": target, "trailing": trailing}
    return pd.concat(frames, ignore_index=True), arrays


def _backtest(panel, arrays, withheld=()) -> object:
    weights = arrays["weights"].copy()
    weights[list(withheld)] = np.nan
    rest = {k: v for k, v in arrays.items() if k != "weights"}
    return run_backtest(panel, weights, **rest, config=BacktestConfig(costs=LOOSE.costs))


def _ingest(path: Path, prices: pd.DataFrame) -> None:
    result = workflows.ingest(path, FetchResult("synthetic", prices, True))
    assert result.status == "ok", result.message


def _step(path: Path, arrays: dict, i: int, params: PaperParams = LOOSE):
    targets = pd.DataFrame(
        {
            "target_weight": arrays["weights"][i],
            "stop": arrays["stops"][i],
            "take_profit": arrays["take_profits"][i],
            "trailing": arrays["trailing"][i],
        },
        index=list(TICKERS),
    )
    return workflows.paper_step(path, DATES[i], list(TICKERS), params=params, targets=targets)


def _reference(trades: pd.DataFrame) -> pd.Series:
    """The price a fill was made at before spread and impact."""
    q = trades["shares"].abs()
    return (
        trades["price"] * q - np.sign(trades["shares"]) * (trades["spread"] + trades["impact"])
    ) / q


@pytest.fixture(scope="module")
def scenario():
    prices, arrays = _event_path()
    return prices, to_wide(prices), arrays


@pytest.fixture(scope="module")
def paper_run(scenario, tmp_path_factory):
    """Paper steps over every session, each ingesting only its own session's bars first;
    a copy of the store is kept after step CHECKPOINT."""
    prices, _, arrays = scenario
    folder = tmp_path_factory.mktemp("paper_execution")
    path = folder / "paper.db"
    for i, day in enumerate(DATES):
        _ingest(path, prices[prices["date"] == day])
        assert _step(path, arrays, i).status == "done"
        if i == CHECKPOINT:
            store_digest(path)  # no WAL left behind: the file is the whole store
            shutil.copy(path, folder / "checkpoint.db")
    return path, folder / "checkpoint.db"


def _copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    shutil.copy(source, target)
    return target


def _assert_same(path: Path, expected, through: int) -> None:
    """Fills, cash and equity of the paper ledger equal the backtest's through day ``through``."""
    state = workflows.load_paper_state(path)
    fills = state.fills
    fills = fills.assign(date=fills["fill_date"])
    fills = fills.sort_values(["date", "ticker", "reason"]).reset_index(drop=True)
    trades = expected.trades[expected.trades["date"] <= DATES[through]].assign(
        ticker=lambda f: f["ticker"].astype(str), reason=lambda f: f["reason"].astype(str)
    )
    trades = trades.sort_values(["date", "ticker", "reason"]).reset_index(drop=True)
    assert len(fills) == len(trades)
    assert (fills["date"] == trades["date"]).all()
    assert fills["ticker"].tolist() == trades["ticker"].tolist()
    assert fills["reason"].tolist() == trades["reason"].tolist()
    for ours, theirs in [("quantity", "shares"), ("price", "price"), ("fees", "commission"),
                         ("spread", "spread"), ("impact", "impact"),
                         ("realized_pnl", "realized_pnl")]:  # fmt: skip
        np.testing.assert_allclose(fills[ours], trades[theirs], rtol=0, atol=1e-9, err_msg=ours)
    steps = state.steps.set_index("step_date")
    days = DATES[: through + 1]
    assert list(steps.index) == list(days)
    np.testing.assert_allclose(steps["cash"], expected.cash.loc[days], rtol=0, atol=1e-9)
    np.testing.assert_allclose(steps["equity"], expected.equity.loc[days], rtol=0, atol=1e-9)
    positions, cash = (state.replay_positions, state.replay_cash)
    assert cash == pytest.approx(state.cash, abs=1e-9)
    assert positions == dict(
        zip(state.positions["ticker"], state.positions["quantity"], strict=True)
    )


def test_the_scenario_exercises_every_rule(scenario) -> None:
    _, panel, arrays = scenario
    result = _backtest(panel, arrays)
    trades = result.trades.assign(reference=_reference(result.trades))

    def fill(ticker: int, day: int, reason: str) -> pd.Series:
        rows = trades[
            (trades["ticker"] == TICKERS[ticker])
            & (trades["date"] == DATES[day])
            & (trades["reason"] == reason)
        ]
        assert len(rows) == 1, (TICKERS[ticker], day, reason)
        return rows.iloc[0]

    held = result.positions.to_numpy()
    assert fill(GAP, 27, "stop")["reference"] == pytest.approx(18.0)  # the gap: at the open
    assert (held[27:33, GAP] == 0).all() and held[33, GAP] > 0  # blocked until the 0 target
    assert fill(GAP, 35, "take_profit")["reference"] == pytest.approx(23.0)
    assert (held[35:39, GAP] == 0).all() and held[39, GAP] < 0  # a short lifts the block
    cover = fill(GAP, 41, "stop")  # a bar touching both levels counts as the stop
    assert cover["shares"] > 0 and cover["reference"] == pytest.approx(21.5)
    risk = panel.open[25, TRL] - 9.0
    assert fill(TRL, 29, "stop")["reference"] == pytest.approx(13.0 - risk)  # trailed from 9
    assert (held[29:, TRL] == 0).all()
    assert fill(CLO, 30, "stop")["reference"] == pytest.approx(28.0)  # close-only: the close
    assert fill(CLO, 25, "rebalance")["reference"] == pytest.approx(panel.close[25, CLO])
    buys = trades[trades["date"] == DATES[25]]
    assert (buys["shares"] > 0).all() and result.cash.iloc[25] >= 0
    assert held[25, BIG] * panel.close[25, BIG] < 0.6 * 0.8 * result.equity.iloc[25]  # cut
    early = trades[trades["date"] == DATES[3]]  # no 20-day history: the fixed impact
    np.testing.assert_allclose(early["impact"], early["shares"].abs() * early["reference"] * 1e-3)
    late = fill(GAP, 33, "rebalance")  # measured on 20 days of volume
    assert late["impact"] != pytest.approx(abs(late["shares"]) * late["reference"] * 1e-3)


def test_paper_steps_trade_exactly_as_the_backtest(scenario, paper_run) -> None:
    _, panel, arrays = scenario
    _assert_same(paper_run[0], _backtest(panel, arrays), T - 1)


def test_difference_one_session_at_a_time_never_a_bar_after_it(scenario, paper_run, tmp_path):
    """Steps 26 and 27 on a store whose later bars are wild give the same ledger (and the
    shared run ingested each session's bars only just before its step)."""
    assert "never sees a bar" in PAPER_DIFFERENCES[0]
    prices, panel, arrays = scenario
    path = _copy(paper_run[1], tmp_path)
    later = prices["date"] > DATES[27]
    poisoned = prices.copy()
    poisoned.loc[later, ["open", "high", "low", "close"]] *= 3.0
    _ingest(path, poisoned[prices["date"] > DATES[CHECKPOINT]])
    for i in (26, 27):
        assert _step(path, arrays, i).status == "done"
    _assert_same(path, _backtest(panel, arrays), 27)


def test_difference_withheld_targets_leave_exits_and_marks_running(scenario, paper_run, tmp_path):
    """A paused account sets no targets on days 26-29, yet the gap stop (27) and the
    trailing stop (29) fill and every mark runs: the backtest with no decision those days."""
    assert "withhold new targets" in PAPER_DIFFERENCES[1]
    prices, panel, arrays = scenario
    path = _copy(paper_run[1], tmp_path)
    _ingest(path, prices[prices["date"] > DATES[CHECKPOINT]])
    for i in range(26, 32):
        with open_db(path) as db:
            PaperLedger(db).set_halt(i <= 29, "circuit breaker: test" if i <= 29 else "")
        result = _step(path, arrays, i)
        assert result.status == "done"
        assert ("paused" in result.guardrail) == (i <= 29) and (result.orders == 0 or i > 29)
    withheld = _backtest(panel, arrays, withheld=range(26, 30))
    _assert_same(path, withheld, 31)
    fills = workflows.load_paper_state(path).fills
    exits = fills[fills["reason"] == "stop"].set_index("ticker")["fill_date"]
    assert exits["GAP"] == DATES[27] and exits["TRL"] == DATES[29]


def test_difference_stale_data_blocks_and_the_next_step_catches_up(scenario, paper_run, tmp_path):
    """GAP has no bar on day 27 yet: the step is blocked and writes nothing. Once the bar
    is in, the step of day 28 runs days 27 and 28 (the gap stop fills on 27) with no
    decision made on 27."""
    assert "catches the sessions it missed up" in PAPER_DIFFERENCES[2]
    prices, panel, arrays = scenario
    path = _copy(paper_run[1], tmp_path)
    _ingest(path, prices[prices["date"] == DATES[26]])
    assert _step(path, arrays, 26).status == "done"
    day27 = prices[prices["date"] == DATES[27]]
    _ingest(path, day27[day27["ticker"] != "GAP"])
    before = store_digest(path)
    blocked = _step(path, arrays, 27)
    assert blocked.status == "blocked" and "GAP (last close" in blocked.message
    assert store_digest(path) == before
    _ingest(path, prices[prices["date"] > DATES[26]])
    assert _step(path, arrays, 28).status == "done"
    expected = _backtest(panel, arrays, withheld=[27])
    state = workflows.load_paper_state(path)
    steps = state.steps["step_date"].tolist()
    assert DATES[27] not in steps
    fills = state.fills
    assert DATES[27] in set(fills.loc[fills["ticker"] == "GAP", "fill_date"])
    np.testing.assert_allclose(state.cash, expected.cash.iloc[28], rtol=0, atol=1e-9)
    step = state.steps.iloc[-1]
    assert step["equity"] == pytest.approx(expected.equity.iloc[28], abs=1e-9)
    assert len(fills) == (expected.trades["date"] <= DATES[28]).sum()


def test_difference_next_open_execution_with_indicative_orders(scenario, paper_run) -> None:
    """Every rebalance fills at its session's open (the close without one); an order's
    quantity is indicative and the fill sizes the trade."""
    assert "next open" in PAPER_DIFFERENCES[3]
    prices, _, _ = scenario
    state = workflows.load_paper_state(paper_run[0])
    fills = state.fills.rename(columns={"quantity": "shares"})
    fills = fills.merge(prices.rename(columns={"date": "fill_date"}), on=["ticker", "fill_date"])
    rebalances = fills[fills["reason"] == "rebalance"]
    expected = rebalances["open"].fillna(rebalances["close"])
    np.testing.assert_allclose(_reference(rebalances), expected, rtol=1e-12)
    orders = state.orders
    assert set(orders["status"]) <= {"filled", "cancelled", "open"}
    assert (orders["status"] == "open").sum() == (orders["step_date"] == DATES[-1]).sum()
    filled = orders.merge(fills, on="client_order_id", suffixes=("", "_fill"))
    assert len(filled) == len(fills) and (filled["status"] == "filled").all()
    assert (filled["quantity"] != filled["shares"]).any()  # indicative, not binding
    assert filled.loc[filled["reason"] == "rebalance", "target_weight"].notna().all()


def test_an_open_order_of_the_old_schema_trades_as_the_target_of_its_shares(
    scenario, tmp_path, monkeypatch
) -> None:
    """An order placed as a share quantity before targets were stored fills at the next
    step as the weight its shares had at the close it was decided at."""
    prices, panel, _ = scenario
    path = tmp_path / "old.db"
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:5])
    _ingest(path, prices[prices["date"] <= DATES[5]])
    with open_db(path) as db:
        db.execute("INSERT INTO paper_account (id, initial_cash, created_utc) VALUES (1, 1e5, 'x')")
        db.execute("INSERT INTO paper_cash (id, balance) VALUES (1, 1e5)")
        db.execute(
            "INSERT INTO paper_steps VALUES (?, 1e5, 1e5, 1e5, 1, 0, '', 'x')", (f"{DATES[4]:%F}",)
        )
        db.execute(
            "INSERT INTO paper_orders (client_order_id, step_date, ticker, quantity, status, stop,"
            " take_profit, created_utc) VALUES (?, ?, 'BIG', 100, 'open', 40, 60, 'x')",
            (f"{DATES[4]:%Y%m%d}-BIG", f"{DATES[4]:%F}"),
        )
    monkeypatch.undo()
    result = workflows.paper_step(path, DATES[5], ["BIG"], params=LOOSE, targets=pd.DataFrame())
    assert result.status == "done" and result.fills == 1
    state = workflows.load_paper_state(path)
    fill = state.fills.iloc[0]
    weight = 100 * panel.close[4, BIG] / 1e5
    assert fill["quantity"] == np.trunc(weight * 1e5 / panel.open[5, BIG] + 1e-9)
    assert fill["client_order_id"] == f"{DATES[4]:%Y%m%d}-BIG"
    assert state.orders["status"].tolist() == ["filled"]
    position = state.positions.iloc[0]
    assert (position["stop"], position["take_profit"]) == (40.0, 60.0)
