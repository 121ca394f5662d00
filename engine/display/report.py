"""The tear sheet: one self-contained HTML page (it opens offline: plotly.js is embedded
once, inline, and so is the style sheet; no external script, link or font).

``render_report`` assembles it from statistics already computed
(``engine.trading.backtest.compute_return_statistics`` or ``compute_statistics``) and the
figures of ``engine.display.trading``.
"""

from __future__ import annotations

import html

import pandas as pd
import plotly.graph_objects as go

from engine.display.trading import plot_equity_curves, plot_monthly_returns, plot_rolling_risk

HEADLINE = (  # key, label, percent
    ("cagr", "CAGR", True),
    ("volatility", "Volatility (annual)", True),
    ("sharpe", "Sharpe", False),
    ("sortino", "Sortino", False),
    ("max_drawdown", "Max drawdown", True),
    ("calmar", "Calmar", False),
    ("win_rate", "Win rate (closed trades)", True),
)
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2rem; } p.note { color: #555; margin-top: 0.2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.9rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
div.trades { max-height: 480px; overflow-y: auto; }
"""


def _value(value: float, percent: bool) -> str:
    if pd.isna(value):
        return "n/a"
    return f"{value:.2%}" if percent else f"{value:.2f}"


def headline_table(statistics: dict) -> str:
    """The headline metrics with their 95% intervals as an HTML table."""
    rows = []
    for key, label, percent in HEADLINE:
        if key not in statistics:
            continue
        metric = statistics[key]
        band = f"[{_value(metric.low, percent)}, {_value(metric.high, percent)}]"
        rows.append(
            f"<tr><td>{label}</td><td>{_value(metric.estimate, percent)}</td><td>{band}</td></tr>"
        )
    head = "<tr><th>metric</th><th>estimate</th><th>95% interval</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _figures(figures: list[go.Figure]) -> str:
    """The figures as HTML divs; the first carries plotly.js inline, the rest reuse it."""
    return "".join(
        fig.to_html(full_html=False, include_plotlyjs=i == 0, include_mathjax=False)
        for i, fig in enumerate(figures)
    )


def render_report(
    title: str,
    equity: pd.Series,
    statistics: dict,
    *,
    benchmarks: dict[str, pd.Series] | None = None,
    trades: pd.DataFrame | None = None,
    notes: tuple[str, ...] = (),
    rolling_window: int = 63,
) -> str:
    """The tear sheet of ``equity`` (a value series by date) as one HTML document.

    Parameters
    ----------
    statistics : dict
        ``HEADLINE`` keys mapped to ``Interval``; missing keys are left out.
    benchmarks : dict of name -> value Series by date, optional
        Drawn beside the equity (each rebased to 1).
    trades : DataFrame, optional
        Listed in full at the end.
    notes : tuple of str
        Lines shown under the title (conventions, trial counts, costs).
    """
    returns = equity.pct_change().dropna()
    figures = [
        plot_equity_curves({"strategy": equity, **(benchmarks or {})}, "Equity and drawdown"),
        plot_monthly_returns(returns),
        plot_rolling_risk(returns, rolling_window),
    ]
    span = f"{equity.index.min():%Y-%m-%d} to {equity.index.max():%Y-%m-%d}, {len(returns)} returns"
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="note">{html.escape(span)}</p>',
        *(f'<p class="note">{html.escape(note)}</p>' for note in notes),
        "<h2>Headline</h2>",
        headline_table(statistics),
        "<h2>Charts</h2>",
        _figures(figures),
    ]
    if trades is not None:
        parts += [
            f"<h2>Trades ({len(trades)})</h2>",
            f'<div class="trades">{trades.to_html(index=False, border=0, na_rep="")}</div>',
        ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{''.join(parts)}</body></html>"
    )
