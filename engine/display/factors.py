"""Factor tear-sheet figures: daily IC, its monthly heatmap and histogram, quantile
returns, the cumulative long-short book and the top quantile's turnover."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

INK, ACCENT, MUTED = "#1d3557", "#e63946", "#999"
MARGIN = {"l": 50, "r": 20, "t": 40, "b": 30}
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _layout(fig: go.Figure, title: str, *, height: int = 320, **axes: str) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=MARGIN, showlegend=False, **axes)
    return fig


def plot_ic_series(daily: pd.Series, *, window: int = 21, name: str = "rank IC") -> go.Figure:
    """Daily IC (thin bars) with its trailing ``window``-date mean (line) and zero.

    Parameters
    ----------
    daily : Series of shape (D,)
        IC per date, indexed by date; NaN dates are left out.
    """
    values = daily.dropna()
    rolling = values.rolling(window, min_periods=max(2, window // 2)).mean()
    fig = go.Figure(
        [
            go.Bar(x=values.index, y=values, name=name, marker={"color": MUTED}),
            go.Scatter(x=rolling.index, y=rolling, name=f"{window}-day mean", line={"color": INK}),
        ]
    )
    fig.add_hline(y=0.0, line={"color": ACCENT, "dash": "dash"})
    return _layout(fig, f"Daily {name} and its {window}-day mean", yaxis_title=name)


def plot_monthly_ic_heatmap(monthly: pd.DataFrame) -> go.Figure:
    """Mean rank IC per calendar month: rows years, columns months 1..12; diverging
    colours centred on 0 (blank months had no IC)."""
    values = monthly.to_numpy(dtype=float)
    bound = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    fig = go.Figure(
        go.Heatmap(
            z=values,
            x=[MONTHS[int(m) - 1] for m in monthly.columns],
            y=[str(y) for y in monthly.index],
            zmin=-bound,
            zmax=bound,
            colorscale="RdBu",
            text=np.where(np.isfinite(values), np.round(values, 3), np.nan),
            texttemplate="%{text}",
            hovertemplate="%{y} %{x}: %{z:.4f}<extra></extra>",
        )
    )
    fig.update_yaxes(type="category")  # years as labels, not a numeric axis (2,021.5)
    return _layout(fig, "Monthly mean rank IC", height=max(220, 60 + 40 * len(monthly)))


def plot_ic_histogram(daily: pd.Series, *, name: str = "rank IC") -> go.Figure:
    """Distribution of the daily IC with its mean (solid) and zero (dashed)."""
    values = daily.dropna()
    fig = go.Figure(go.Histogram(x=values, nbinsx=40, marker={"color": INK}))
    fig.add_vline(x=0.0, line={"color": MUTED, "dash": "dash"})
    if len(values):
        fig.add_vline(x=float(values.mean()), line={"color": ACCENT})
    return _layout(fig, f"Distribution of the daily {name}", xaxis_title=name, yaxis_title="dates")


def plot_quantile_returns(quantile_returns: pd.DataFrame) -> go.Figure:
    """Mean forward return per factor quantile (1 = lowest) with its interval.

    Parameters
    ----------
    quantile_returns : DataFrame of shape (q, >= 3)
        Indexed by quantile, columns mean, low, high (``FactorTearSheet``).
    """
    table = quantile_returns
    fig = go.Figure(
        go.Bar(
            x=[str(q) for q in table.index],
            y=table["mean"],
            marker={"color": np.where(table["mean"] >= 0, INK, ACCENT)},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": table["high"] - table["mean"],
                "arrayminus": table["mean"] - table["low"],
            },
            hovertemplate="quantile %{x}: %{y:.4%}<extra></extra>",
        )
    )
    return _layout(
        fig,
        "Mean forward return by quantile",
        xaxis_title="quantile (1 = lowest factor)",
        yaxis_title="mean forward return",
        yaxis_tickformat=".2%",
    )


def plot_cumulative_long_short(cumulative: pd.Series) -> go.Figure:
    """Growth of 1 in the top-minus-bottom quantile book (before costs)."""
    fig = go.Figure(go.Scatter(x=cumulative.index, y=cumulative, line={"color": INK}))
    fig.add_hline(y=1.0, line={"color": MUTED, "dash": "dash"})
    return _layout(fig, "Cumulative long-short (top minus bottom quantile, no costs)")


def plot_turnover(turnover: pd.Series, *, window: int = 21) -> go.Figure:
    """Share of the top quantile's names new on each date, with a trailing mean."""
    values = turnover.dropna()
    rolling = values.rolling(window, min_periods=max(2, window // 2)).mean()
    fig = go.Figure(
        [
            go.Scatter(x=values.index, y=values, mode="lines", line={"color": MUTED}),
            go.Scatter(x=rolling.index, y=rolling, line={"color": INK}),
        ]
    )
    return _layout(
        fig, "Top-quantile turnover", yaxis_title="share of new names", yaxis_tickformat=".0%"
    )
