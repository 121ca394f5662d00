"""Transaction-cost figures: each fill's realized execution cost against the execution
model's estimate, and the mean of both by group with the realized mean's interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.display.trading import COLOURS

SIDE_COLOURS = {"buy": COLOURS[2], "sell": COLOURS[1]}


def plot_tca(fills: pd.DataFrame, summary: pd.DataFrame, title: str = "") -> go.Figure:
    """Left: realized against estimated execution cost per fill (bps of the decision
    notional; on the diagonal a fill cost what the model said). Right: mean realized cost
    by group with its interval, beside the mean estimate.

    Parameters
    ----------
    fills : DataFrame
        ``engine.trading.tca.TCA_COLUMNS`` rows.
    summary : DataFrame
        ``engine.trading.tca.SUMMARY_COLUMNS`` rows.
    """
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.45, 0.55],
        subplot_titles=("Per fill", "Mean by group"),
        horizontal_spacing=0.1,
    )
    shown = fills[np.isfinite(fills["execution_bps"].astype(float))]
    for side, part in shown.groupby("side"):
        fig.add_trace(
            go.Scatter(
                x=part["estimated_execution_bps"],
                y=part["execution_bps"],
                mode="markers",
                name=str(side),
                marker={"color": SIDE_COLOURS.get(str(side), COLOURS[0]), "size": 7},
                customdata=np.column_stack([part["ticker"], part["date"].dt.strftime("%Y-%m-%d")]),
                hovertemplate="%{customdata[0]} %{customdata[1]}<br>estimated %{x:.1f} bps"
                "<br>realized %{y:.1f} bps<extra></extra>",
            ),
            row=1,
            col=1,
        )
    values = shown[["estimated_execution_bps", "execution_bps"]].astype(float).to_numpy()
    finite = values[np.isfinite(values)]
    if finite.size:
        low, high = float(finite.min()), float(finite.max())
        fig.add_trace(
            go.Scatter(
                x=[low, high],
                y=[low, high],
                mode="lines",
                name="realized = estimate",
                line={"color": "grey", "dash": "dot"},
            ),
            row=1,
            col=1,
        )
    if len(summary):
        error = {
            "type": "data",
            "symmetric": False,
            "array": summary["execution_high"] - summary["execution_bps"],
            "arrayminus": summary["execution_bps"] - summary["execution_low"],
        }
        fig.add_trace(
            go.Bar(
                x=summary["group"],
                y=summary["execution_bps"],
                name="realized (95% interval)",
                marker={"color": COLOURS[0]},
                error_y=error,
            ),
            row=1,
            col=2,
        )
        fig.add_trace(
            go.Bar(
                x=summary["group"],
                y=summary["estimated_execution_bps"],
                name="model's estimate",
                marker={"color": COLOURS[3]},
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title_text="estimated execution cost (bps)", row=1, col=1)
    fig.update_yaxes(title_text="realized execution cost (bps)", row=1, col=1)
    fig.update_yaxes(title_text="bps of the decision notional", row=1, col=2)
    fig.update_layout(
        title=title,
        height=420,
        barmode="group",
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 20, "t": 50, "b": 30},
    )
    return fig
