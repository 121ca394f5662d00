"""A book's returns by regime and by sector: parts that add up, regimes known the day
before, figures checked by hand, and no skill found on noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.metrics import TRADING_DAYS, sharpe
from engine.trading.breakdown import (
    TRADING_AND_COSTS,
    compute_breakdown,
    regime_parts,
    sector_parts,
)

DATES = pd.bdate_range("2020-01-01", periods=6)


def test_sector_parts_add_up_to_the_book_and_are_marked_at_the_close() -> None:
    close = pd.DataFrame(
        {
            "A": [10, 11, 12, 12, 13, 13.0],
            "B": [20, 20, 19, 21, 21, 22.0],
            "C": [5, 5, 5, 6, 6, 6.0],
        },
        index=DATES,
    )
    positions = pd.DataFrame(
        {
            "A": [0, 100, 100, 0, 0, 0.0],
            "B": [0, 50, 50, 50, -50, -50.0],
            "C": [0, 0, 0, 0, 0, 0.0],
        },
        index=DATES,
    )
    equity = pd.Series([10_000, 9_990, 10_030, 10_128, 10_120, 10_070.0], index=DATES)
    parts, excess = sector_parts(
        positions, close, equity, {"A": "Tech", "B": "Tech", "C": "Energy"}
    )
    # day 3: A +1 x 100 and B -1 x 50 held from day 2's close, over 9,990
    assert parts.loc[DATES[2], "Tech"] == pytest.approx((100 - 50) / 9_990, abs=1e-15)
    assert parts["Energy"].isna().all()  # never held
    total = equity.pct_change().iloc[1:]
    summed = parts.drop(columns=TRADING_AND_COSTS).fillna(0).sum(axis=1) + parts[TRADING_AND_COSTS]
    np.testing.assert_allclose(summed, total, rtol=0, atol=1e-15)
    # excess: the sector's return minus the universe's at its net weight of the day before
    universe = close.pct_change().mean(axis=1)
    weight = (100 * 11 + 50 * 20) / 9_990
    expected = parts.loc[DATES[2], "Tech"] - weight * universe.loc[DATES[2]]
    assert excess.loc[DATES[2], "Tech"] == pytest.approx(expected, abs=1e-15)


def test_regime_of_the_day_before_files_each_return() -> None:
    returns = pd.Series([0.01, -0.02, 0.03, 0.0, 0.01], index=DATES[1:])
    regimes = pd.Series(["calm", "calm", "stress", "stress", "calm", "calm"], index=DATES)
    close = pd.DataFrame({"A": [1, 1, 1, 1, 1, 1.0]}, index=DATES)
    parts, excess = regime_parts(returns, pd.Series(1.0, index=DATES), close, regimes)
    assert parts["calm"].dropna().tolist() == [0.01, -0.02, 0.01]  # days 2, 3 and 6
    assert parts["stress"].dropna().tolist() == [0.03, 0.0]
    pd.testing.assert_frame_equal(parts, excess)  # a flat universe: no excess to take off


def test_breakdown_figures_by_hand_and_short_parts_stay_empty() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(0.001, 0.01, 300)
    parts = pd.DataFrame({"long": values, "short": np.r_[values[:100], [np.nan] * 200]})
    table = compute_breakdown(parts, parts, n_boot=60).set_index("part")
    row = table.loc["long"]
    assert row["days"] == 300
    assert row["sharpe"] == pytest.approx(sharpe(values))
    assert row["hit_rate"] == pytest.approx(np.mean(values > 0))
    assert row["excess"] == pytest.approx(values.mean() * TRADING_DAYS)
    assert row["sharpe_low"] < row["sharpe"] < row["sharpe_high"]
    # 100 days: fewer than five 21-day blocks
    assert table.loc["short", "days"] == 100 and np.isnan(table.loc["short", "sharpe"])


def test_noise_has_no_part_whose_interval_excludes_no_skill() -> None:
    rng = np.random.default_rng(11)
    dates = pd.bdate_range("2015-01-01", periods=1000)
    returns = pd.Series(rng.normal(0, 0.01, len(dates)), index=dates)
    regimes = pd.Series(rng.choice(["a", "b", "c"], len(dates)), index=dates)
    close = pd.DataFrame(
        100 * np.exp(np.cumsum(rng.normal(0, 0.01, (len(dates), 5)), axis=0)), index=dates
    )
    parts, excess = regime_parts(returns, pd.Series(0.0, index=dates), close, regimes)
    table = compute_breakdown(parts, excess, n_boot=200)
    assert (table["sharpe_low"] < 0).all() and (table["sharpe_high"] > 0).all()
    assert (table["hit_rate_low"] < 0.5).all() and (table["hit_rate_high"] > 0.5).all()
