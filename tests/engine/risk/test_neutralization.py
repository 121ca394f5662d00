"""Neutralization keeps what a score knows beyond the risk factors, and nothing else: a
disguised momentum bet loses its information coefficient, a stock-specific signal keeps
it (intervals by the repo's policy: moving blocks of ic_block(horizon) dates, N_BOOT)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.metrics import N_BOOT, Interval, daily_ic, ic_block, ic_summary
from engine.risk import compute_exposures, neutralize, neutralize_panel


def long_scores(wide: pd.DataFrame) -> pd.Series:
    """A (date, ticker) long series of the finite entries of a dates x tickers frame."""
    stacked = wide.stack().rename("score")
    stacked.index = stacked.index.set_names(["date", "ticker"])
    return stacked


def next_day_rank_ic(scores: pd.Series, returns: pd.DataFrame) -> Interval:
    """Mean per-date rank IC of scores dated d - 1 against the returns of d, with the
    repo's moving-block interval for a 1-session horizon."""
    following = long_scores(returns.shift(-1)).reindex(scores.index)
    dates = scores.index.get_level_values("date").to_numpy()
    ic = daily_ic(dates, scores.to_numpy(), following.to_numpy())["rank_ic"]
    return ic_summary(ic, block=ic_block(1), n_boot=N_BOOT)["mean"]


@pytest.fixture(scope="module")
def exposures(momentum):
    prices = momentum.prices
    return compute_exposures(prices.close, prices.volume, sectors=prices.sectors)


def test_a_disguised_momentum_bet_loses_its_ic_when_neutralized(momentum, exposures) -> None:
    returns = momentum.prices.returns
    raw = long_scores(momentum.momentum_signal)
    before = next_day_rank_ic(raw, returns)
    after = next_day_rank_ic(neutralize_panel(raw, exposures).dropna(), returns)
    assert before.above(0.03), before
    assert after.contains(0.0) and abs(after.estimate) < 0.01, after


def test_a_stock_specific_signal_keeps_its_ic_when_neutralized(momentum, exposures) -> None:
    returns = momentum.prices.returns
    planted = long_scores(momentum.specific_signal.iloc[253:])
    before = next_day_rank_ic(planted, returns)
    after = next_day_rank_ic(neutralize_panel(planted, exposures), returns)
    assert before.above(0.03) and after.above(0.03), (before, after)
    assert after.estimate == pytest.approx(before.estimate, abs=0.01)


def test_the_residual_is_orthogonal_to_the_exposures_and_the_intercept(momentum, exposures):
    date = momentum.prices.close.index[600]
    scores = momentum.specific_signal.loc[date].copy()
    scores.iloc[:5] = np.nan
    residual = neutralize(scores, exposures.at(date))
    assert residual.iloc[:5].isna().all() and residual.iloc[5:].notna().all()
    X = np.column_stack([np.ones(len(scores) - 5), exposures.at(date).to_numpy()[5:]])
    assert np.abs(X.T @ residual.iloc[5:].to_numpy()).max() < 1e-10


def test_the_panel_version_uses_the_exposures_of_each_scores_date(momentum, exposures):
    dates = momentum.prices.close.index
    scores = long_scores(momentum.specific_signal.iloc[[300, 450]])
    scores = scores.swaplevel().sort_index()  # (ticker, date) works as well
    out = neutralize_panel(scores, exposures)
    for date in dates[[300, 450]]:
        one = neutralize(scores.xs(date, level="date"), exposures.at(date))
        np.testing.assert_allclose(
            out.xs(date, level="date").to_numpy(), one.to_numpy(), atol=1e-12
        )
    weekend = pd.Timestamp(dates[300]) + pd.Timedelta(days=1)  # between sessions: d's exposures
    if weekend not in dates:
        shifted = scores.xs(dates[300], level="date")
        index = pd.MultiIndex.from_product([[weekend], shifted.index], names=["date", "ticker"])
        moved = neutralize_panel(pd.Series(shifted.to_numpy(), index=index), exposures)
        np.testing.assert_allclose(moved.to_numpy(), out.xs(dates[300], level="date").to_numpy())
    early = pd.MultiIndex.from_product([[dates[0] - pd.Timedelta(days=7)], ["M000", "M001"]])
    early = early.set_names(["date", "ticker"])
    assert neutralize_panel(pd.Series([1.0, 2.0], index=early), exposures).isna().all()
