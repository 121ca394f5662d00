"""The tear sheet: its headline metrics against quantstats, and a self-contained page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import quantstats as qs

from engine.trading.backtest import compute_return_statistics
from engine.trading.gate import closed_trades
from engine.workflows.research.report import paper_report_html, value_report_html
from tests.builders import html_sources
from tests.engine.trading.test_gate import write_journal


@pytest.fixture(scope="module")
def equity() -> pd.Series:
    rng = np.random.default_rng(7)
    dates = pd.bdate_range("2020-01-01", periods=400)
    returns = rng.normal(0.0005, 0.011, len(dates))
    return pd.Series(1e6 * np.cumprod(1 + returns), index=dates)


def test_headline_metrics_match_quantstats(equity) -> None:
    """Same conventions as quantstats with periods=252 and rf=0: CAGR over
    count / 252 years, sample standard deviation, Sortino's downside over every return,
    the drawdown from a baseline of the first value before the first return."""
    stats = compute_return_statistics(equity, n_boot=20)
    returns = equity.pct_change().dropna()
    assert stats["cagr"].estimate == pytest.approx(qs.stats.cagr(returns, periods=252))
    assert stats["volatility"].estimate == pytest.approx(qs.stats.volatility(returns, periods=252))
    assert stats["sharpe"].estimate == pytest.approx(qs.stats.sharpe(returns, rf=0, periods=252))
    assert stats["sortino"].estimate == pytest.approx(qs.stats.sortino(returns, periods=252))
    assert stats["max_drawdown"].estimate == pytest.approx(qs.stats.max_drawdown(returns))
    assert stats["calmar"].estimate == pytest.approx(qs.stats.calmar(returns, periods=252))
    for key in ("cagr", "sharpe", "max_drawdown"):
        assert stats[key].low <= stats[key].estimate <= stats[key].high


def test_the_report_is_one_self_contained_page(equity) -> None:
    fills = pd.DataFrame(
        {"ticker": ["A", "A", "B", "B"],
         "fill_date": pd.to_datetime(["2020-01-02", "2020-02-03"] * 2),
         "quantity": [10, -10, 5, -5], "price": [100.0, 104.0, 50.0, 48.0], "fees": 1.0}
    )  # fmt: skip
    trades = closed_trades(fills)
    benchmark = equity.rolling(5, min_periods=1).mean()
    page = value_report_html(
        equity, title="Holdings <value>", benchmarks={"smoothed": benchmark}, trades=trades,
        wins=trades["pnl"] > 0, n_boot=20,
    )  # fmt: skip
    parser = html_sources(page)
    assert parser.external == []  # no script, link or image from elsewhere
    assert "link" not in parser.tags and parser.tags.count("table") == 2
    assert page.count("Plotly.newPlot") == 3  # equity and drawdown, monthly, rolling
    assert page.count("plotly.js v") == 1  # the library, inline, once
    assert "<title>Holdings &lt;value&gt;</title>" in page
    assert "Win rate (closed trades)</td><td>50.00%" in page


def test_the_paper_report_reads_the_journal(tmp_path) -> None:
    path = tmp_path / "paper.db"
    write_journal(path)
    page = paper_report_html(path, n_boot=20)
    assert "<h2>Trades (20)</h2>" in page
    assert "Win rate (closed trades)</td><td>60.00%" in page
