"""Equity curves: rebased to 1, drawdowns from the running peak, day ticks for short spans."""

import pandas as pd
import pytest

from engine.display.trading import plot_equity_curves


def test_curves_are_rebased_with_their_drawdowns() -> None:
    dates = pd.bdate_range("2022-01-03", periods=4)
    fig = plot_equity_curves({"strategy": pd.Series([100.0, 110.0, 99.0, 121.0], dates)})
    growth, drawdown = fig.data
    assert list(growth.y) == pytest.approx([1.0, 1.1, 0.99, 1.21])
    assert list(drawdown.y) == pytest.approx([0.0, 0.0, -0.1, 0.0])


@pytest.mark.parametrize(("days", "daily"), [(2, True), (20, True), (400, False)])
def test_a_short_span_gets_one_tick_per_day_never_hours(days: int, daily: bool) -> None:
    dates = pd.bdate_range("2022-12-01", periods=days)
    fig = plot_equity_curves({"paper account": pd.Series(1.0, dates)})
    assert (fig.layout.xaxis.dtick == 86_400_000) is daily
