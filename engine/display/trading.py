"""Trading figures: equity curves against benchmarks with drawdowns below, monthly
returns, rolling Sharpe and volatility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.metrics import TRADING_DAYS, rolling_sharpe

COLOURS = ("#1d3557", "#e63946", "#2a9d8f", "#f4a261")


SHORT_SPAN = pd.Timedelta(days=31)
ONE_DAY_MS = 86_400_000


def plot_equity_curves(curves: dict[str, pd.Series], title: str = "") -> go.Figure:
    """Each curve rebased to 1 at its first value, with its drawdown from the running peak."""
    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04
    )
    for (name, raw), colour in zip(curves.items(), COLOURS, strict=False):
        curve = raw.dropna()
        if curve.empty:
            continue
        rebased = curve / curve.iloc[0]
        drawdown = rebased / rebased.cummax() - 1.0
        fig.add_trace(
            go.Scatter(
                x=rebased.index, y=rebased, name=name, line={"color": colour}, legendgroup=name
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=drawdown.index,
                y=drawdown,
                name=name,
                showlegend=False,
                line={"color": colour, "width": 1},
                legendgroup=name,
                fill="tozeroy" if colour == COLOURS[0] else None,
            ),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="growth of 1", row=1, col=1)
    fig.update_yaxes(title_text="drawdown", tickformat=".0%", row=2, col=1)
    dates = [c.dropna().index for c in curves.values() if c.notna().any()]
    if dates and max(d.max() for d in dates) - min(d.min() for d in dates) <= SHORT_SPAN:
        fig.update_xaxes(dtick=ONE_DAY_MS, tickformat="%b %d")  # no hourly ticks for days
    fig.update_layout(
        title=title,
        height=520,
        legend={"orientation": "h", "y": -0.12},
        margin={"l": 50, "r": 20, "t": 40, "b": 30},
    )
    return fig


MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def plot_monthly_returns(returns: pd.Series, title: str = "Monthly returns") -> go.Figure:
    """Heatmap of each calendar month's compounded return (years x months) of daily
    ``returns`` by date; a month without returns is blank."""
    monthly = (1.0 + returns).groupby([returns.index.year, returns.index.month]).prod() - 1.0
    grid = monthly.unstack().reindex(columns=range(1, 13))
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=list(MONTHS),
            y=[str(year) for year in grid.index],
            colorscale="RdYlGn",
            zmid=0.0,
            text=[[f"{v:.1%}" if pd.notna(v) else "" for v in row] for row in grid.to_numpy()],
            texttemplate="%{text}",
            hovertemplate="%{y} %{x}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(title=title, height=120 + 28 * len(grid), margin={"t": 40, "b": 30})
    return fig


def plot_rolling_risk(returns: pd.Series, window: int = 63) -> go.Figure:
    """Rolling ``window``-session Sharpe (``engine.metrics.rolling_sharpe``) above the
    rolling annualized volatility of daily ``returns``."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    volatility = returns.rolling(window).std(ddof=1) * np.sqrt(TRADING_DAYS)
    fig.add_trace(
        go.Scatter(x=returns.index, y=rolling_sharpe(returns, window), name="Sharpe"), row=1, col=1
    )
    fig.add_trace(go.Scatter(x=returns.index, y=volatility, name="volatility"), row=2, col=1)
    fig.update_yaxes(title_text=f"Sharpe, {window} sessions", row=1, col=1)
    fig.update_yaxes(title_text="volatility", tickformat=".0%", row=2, col=1)
    fig.update_layout(height=420, showlegend=False, margin={"l": 50, "r": 20, "t": 30, "b": 30})
    return fig
