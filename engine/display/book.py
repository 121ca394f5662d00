"""Figures of the analyst's book. plot_* functions build and return a plotly Figure; they
never show it."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go


def plot_sector_exposure(sectors: pd.DataFrame) -> go.Figure:
    """Horizontal bars of each sector's weight in the valued book.

    Parameters
    ----------
    sectors : DataFrame with ``sector``, ``market_value`` and ``weight`` (one row each).
    """
    ordered = sectors.sort_values("weight")
    fig = go.Figure(
        go.Bar(
            x=ordered["weight"],
            y=ordered["sector"],
            orientation="h",
            customdata=ordered["market_value"],
            hovertemplate="%{y}: %{x:.1%} (%{customdata:,.0f})<extra></extra>",
        )
    )
    fig.update_layout(
        title="Sector exposure (share of the valued holdings)",
        xaxis_tickformat=".0%",
        height=120 + 30 * len(ordered),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig


def plot_book_vs_index(value: pd.Series, index: pd.Series | None, index_name: str) -> go.Figure:
    """The holdings' value and the index, both rebased to 1 on the first date shown.

    ``value`` by date (today's shares at each date's closes); ``index`` the index's closes
    on the same dates, or None. Dates without a value are gaps, never bridged.
    """
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=value.index, y=value / value.iloc[0], name="holdings"))
    if index is not None and index.notna().any():
        first = index.dropna().iloc[0]
        fig.add_trace(go.Scatter(x=index.index, y=index / first, name=index_name))
    fig.update_layout(
        title="Holdings (today's shares) vs the index, rebased to 1",
        yaxis_title="growth of 1",
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
    )
    return fig
