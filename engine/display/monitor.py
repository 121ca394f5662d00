"""Monitor figures: rolling forecast quality against its thresholds; retraining policies
replayed over history."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def plot_rolling_quality(quality: pd.DataFrame, ece_limit: float, sharpe_floor: float) -> go.Figure:
    """Rolling ECE, hit rate and Sharpe, each with its threshold as a dashed line."""
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.05,
        subplot_titles=("rolling ECE", "rolling hit rate", "rolling Sharpe"),
    )
    lines = (("ece", ece_limit), ("hit_rate", 0.5), ("sharpe", sharpe_floor))
    for row, (column, limit) in enumerate(lines, start=1):
        fig.add_trace(
            go.Scatter(x=quality.index, y=quality[column], name=column, line={"color": "#1d3557"}),
            row=row,
            col=1,
        )
        fig.add_hline(y=limit, line={"color": "#e63946", "dash": "dash"}, row=row, col=1)
    fig.update_layout(height=560, showlegend=False, margin={"l": 50, "r": 20, "t": 40, "b": 30})
    return fig


def plot_policy_record(daily: pd.DataFrame) -> go.Figure:
    """Each retraining policy's cumulative daily rank IC over the replay (a policy that
    ranks better climbs faster; noise wanders around 0)."""
    fig = go.Figure()
    for policy in daily.columns:
        fig.add_trace(go.Scatter(x=daily.index, y=daily[policy].cumsum(), name=policy))
    fig.add_hline(y=0.0, line={"color": "#888", "dash": "dot"})
    fig.update_layout(
        height=360,
        yaxis_title="cumulative rank IC",
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 20, "t": 20, "b": 30},
    )
    return fig
