"""Signal-study figures: the average path around the events, and the after-cost mean of
each horizon with its interval."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from engine.display.factors import ACCENT, INK, MUTED, _layout


def plot_event_path(path: pd.DataFrame) -> go.Figure:
    """The mean cumulative excess return from the event's close, with its interval band.

    Parameters
    ----------
    path : DataFrame of shape (2 s + 1, >= 3)
        Columns ``offset`` (sessions from the event, -s..+s), ``mean``, ``low``, ``high``
        (fractions, before costs).
    """
    x = path["offset"]
    fig = go.Figure(
        [
            go.Scatter(x=x, y=path["high"], line={"width": 0}, hoverinfo="skip"),
            go.Scatter(
                x=x,
                y=path["low"],
                line={"width": 0},
                fill="tonexty",
                fillcolor="rgba(29, 53, 87, 0.15)",
                name="95% interval",
            ),
            go.Scatter(x=x, y=path["mean"], line={"color": INK}, name="mean excess"),
        ]
    )
    fig.add_hline(y=0.0, line={"color": MUTED, "dash": "dot"})
    fig.add_vline(x=0, line={"color": ACCENT, "dash": "dash"})
    return _layout(
        fig,
        "Average excess return around the events (before costs)",
        xaxis_title="sessions from the event",
        yaxis_title="cumulative excess",
        yaxis_tickformat=".1%",
    )
