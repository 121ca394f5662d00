"""Risk-model figures: a book's cumulative return attribution by factor, and a risk
decomposition's contributions to volatility."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from engine.display.factors import INK, MARGIN


def plot_attribution(cumulative: pd.DataFrame, *, top: int = 6) -> go.Figure:
    """The ``top`` largest parts of a Carino-linked attribution through time (the rest of
    the factors summed as "other factors"), and the book's compounded return.

    Parameters
    ----------
    cumulative : DataFrame of shape (D, K + 2 or 3)
        ``Attribution.cumulative``: a column per factor, ``specific``, optionally
        ``trading and costs``, and ``total``.
    """
    parts = cumulative.drop(columns="total")
    fixed = [c for c in ("specific", "trading and costs") if c in parts]
    factors = parts.drop(columns=fixed)
    largest = factors.iloc[-1].abs().sort_values(ascending=False).index[:top].tolist()
    shown = factors[largest].assign(**{"other factors": factors.drop(columns=largest).sum(axis=1)})
    shown = pd.concat([shown, parts[fixed]], axis=1)
    fig = go.Figure(
        [go.Scatter(x=shown.index, y=shown[c], name=c, mode="lines") for c in shown.columns]
    )
    fig.add_trace(
        go.Scatter(
            x=cumulative.index,
            y=cumulative["total"],
            name="total",
            line={"color": INK, "width": 3},
        )
    )
    fig.update_layout(
        title="Where the return came from (cumulative, parts add up to the total)",
        height=380,
        margin=MARGIN,
        yaxis_tickformat=".0%",
        legend={"orientation": "h"},
    )
    return fig


def plot_risk_contributions(contributions: pd.Series, title: str) -> go.Figure:
    """Horizontal bars of each part's share of the book's volatility (they add up to 1)."""
    ordered = contributions.sort_values()
    fig = go.Figure(go.Bar(x=ordered.to_numpy(), y=ordered.index, orientation="h"))
    fig.update_layout(
        title=title,
        height=max(260, 24 * len(ordered) + 80),
        margin=MARGIN,
        xaxis_tickformat=".0%",
    )
    return fig
