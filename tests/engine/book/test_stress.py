"""Stress tests of a book: past windows replayed by hand, proxies named, nothing after t."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.book.stress import compute_betas, factor_shocks, index_shock, replay_windows
from engine.studies.scenarios import Scenario

DATES = pd.bdate_range("2019-01-01", periods=400)
CRASH = Scenario("crash", DATES[300], DATES[309], "ten sessions")


@pytest.fixture(scope="module")
def market():
    rng = np.random.default_rng(5)
    index = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(DATES)))), index=DATES)
    m = index.pct_change().fillna(0).to_numpy()
    a = 50 * np.cumprod(1 + 2.0 * m)  # beta 2 exactly
    b = 20 * np.cumprod(1 + 0.5 * m + rng.normal(0, 0.002, len(DATES)))
    late = np.where(np.arange(len(DATES)) >= 305, 10 * np.cumprod(1 + m), np.nan)  # lists mid-crash
    close = pd.DataFrame({"A": a, "B": b, "LATE": late}, index=DATES)
    return close, index


def test_betas_from_the_year_up_to_t_and_unit_beta_where_data_is_short(market) -> None:
    close, index = market
    fitted = compute_betas(close, index, DATES[-1])
    assert fitted.betas["A"] == pytest.approx(2.0, abs=1e-9)
    assert fitted.betas["B"] == pytest.approx(0.5, abs=0.05)
    assert fitted.betas["LATE"] == pytest.approx(1.0, abs=1e-9)  # 94 returns: estimated
    early = compute_betas(close, index, DATES[320])
    assert early.unit_beta == ("LATE",) and early.betas["LATE"] == 1.0


def test_replay_by_hand_with_a_proxy_for_a_name_not_yet_listed(market) -> None:
    close, index = market
    weights = pd.Series({"A": 0.5, "B": -0.2, "LATE": 0.1})
    betas = pd.Series({"A": 2.0, "B": 0.5, "LATE": 1.3})
    table = replay_windows(weights, close, index, betas, [CRASH], as_of=DATES[-1])
    (row,) = table.itertuples()
    start, window = DATES[299], DATES[300:310]
    rel = close.loc[window, ["A", "B"]] / close.loc[start, ["A", "B"]]
    market_path = index.loc[window] / index.loc[start]
    path = 1 + 0.5 * (rel["A"] - 1) - 0.2 * (rel["B"] - 1) + 0.1 * 1.3 * (market_path - 1)
    assert row.book_return == pytest.approx(path.iloc[-1] - 1, abs=1e-12)
    expected_dd = min(0.0, (path / np.maximum(path.cummax(), 1.0) - 1).min())
    assert row.worst_drawdown == pytest.approx(expected_dd, abs=1e-12)
    assert row.proxied == "LATE"


def test_windows_after_t_are_not_replayed_and_nothing_after_t_is_read(market) -> None:
    close, index = market
    weights = pd.Series({"A": 0.6, "B": 0.3})
    betas = pd.Series({"A": 2.0, "B": 0.5})
    assert replay_windows(weights, close, index, betas, [CRASH], as_of=DATES[305]).empty
    as_of = DATES[350]
    clean = replay_windows(weights, close, index, betas, [CRASH], as_of=as_of)
    poisoned, poisoned_index = close.copy(), index.copy()
    poisoned.loc[poisoned.index > as_of] *= 10
    poisoned_index.loc[poisoned_index.index > as_of] = np.nan
    assert replay_windows(weights, poisoned, poisoned_index, betas, [CRASH], as_of=as_of).equals(
        clean
    )


def test_index_shock_is_the_beta_weighted_move() -> None:
    weights = pd.Series({"A": 0.5, "B": -0.25})
    betas = pd.Series({"A": 1.2, "B": 0.8, "C": 3.0})
    assert index_shock(weights, betas, -0.10) == pytest.approx(-0.10 * (0.6 - 0.2))


def test_factor_shock_is_the_worst_month_up_to_t_times_the_exposure() -> None:
    dates = pd.bdate_range("2020-01-01", periods=100)
    momentum = np.zeros(100)
    momentum[30:40] = -0.01  # a 10-session crash: its worst 21-session sum is -0.10
    momentum[80:85] = -0.05  # a worse one, after t
    returns = pd.DataFrame({"momentum": momentum, "beta": 0.001}, index=dates)
    exposures = pd.Series({"momentum": 0.8, "beta": -0.5})
    table = factor_shocks(exposures, returns, dates[60]).set_index("factor")
    assert table.at["momentum", "worst_move"] == pytest.approx(-0.10)
    assert table.at["momentum", "book_return"] == pytest.approx(-0.08)
    assert dates[39] <= table.at["momentum", "ended"] <= dates[59]
    assert table.at["beta", "book_return"] == pytest.approx(-0.5 * 0.021)
    later = factor_shocks(exposures, returns, dates[-1]).set_index("factor")
    assert later.at["momentum", "worst_move"] == pytest.approx(-0.25)
