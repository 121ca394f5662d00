"""Calibration figures: reliability diagrams with Wilson intervals, overall and per regime."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.features.regime import REGIME_NAMES

COLOURS = ("#1d3557", "#e63946", "#2a9d8f", "#f4a261", "#6a4c93")


def _curve_trace(
    curve: pd.DataFrame, name: str, colour: str, show_legend: bool = True
) -> go.Scatter:
    return go.Scatter(
        x=curve["mean_forecast"],
        y=curve["observed"],
        mode="lines+markers",
        name=name,
        legendgroup=name,
        showlegend=show_legend,
        line={"color": colour},
        error_y={
            "type": "data",
            "symmetric": False,
            "array": curve["high"] - curve["observed"],
            "arrayminus": curve["observed"] - curve["low"],
        },
        customdata=curve["count"],
        hovertemplate="forecast %{x:.3f}<br>observed %{y:.3f}<br>%{customdata} rows<extra></extra>",
    )


def _diagonal(lo: float, hi: float) -> go.Scatter:
    return go.Scatter(
        x=[lo, hi],
        y=[lo, hi],
        mode="lines",
        name="perfect",
        showlegend=False,
        line={"color": "#999", "dash": "dash"},
        hoverinfo="skip",
    )


def _span(curves: list[pd.DataFrame]) -> tuple[float, float]:
    values = pd.concat([c[["mean_forecast", "low", "high"]] for c in curves]).stack()
    return float(values.min()) - 0.01, float(values.max()) + 0.01


def plot_reliability(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """Observed up-rate against mean forecast per equal-mass bin, one line per method,
    with the bins' 95% Wilson intervals; the dashed diagonal is perfect calibration."""
    fig = go.Figure()
    lo, hi = _span(list(curves.values()))
    fig.add_trace(_diagonal(lo, hi))
    for (name, curve), colour in zip(curves.items(), COLOURS, strict=False):
        fig.add_trace(_curve_trace(curve, name, colour))
    fig.update_layout(
        height=460,
        xaxis_title="mean forecast P(up)",
        yaxis_title="observed up-rate",
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 50, "r": 20, "t": 30, "b": 40},
    )
    return fig


def plot_reliability_by_regime(curves: dict[int, pd.DataFrame], columns: int = 3) -> go.Figure:
    """One small reliability diagram per regime (shared axes)."""
    ids = sorted(curves)
    rows = max(1, math.ceil(len(ids) / columns))
    titles = [f"{i}: {REGIME_NAMES[i]}" for i in ids]
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=titles,
        shared_xaxes=True,
        shared_yaxes=True,
        vertical_spacing=0.12,
    )
    lo, hi = _span(list(curves.values())) if curves else (0.0, 1.0)
    for k, regime in enumerate(ids):
        row, col = k // columns + 1, k % columns + 1
        fig.add_trace(_diagonal(lo, hi), row=row, col=col)
        fig.add_trace(
            _curve_trace(curves[regime], "calibrated", COLOURS[0], k == 0), row=row, col=col
        )
    fig.update_annotations(font_size=11)
    fig.update_layout(height=260 * rows, margin={"l": 40, "r": 20, "t": 40, "b": 30})
    return fig
