"""Trading figures: equity curves against benchmarks, with drawdowns below."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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
