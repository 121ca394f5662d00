"""Signal figures: price with EMA stack, Bollinger bands and patterns; SMI gauge; regimes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.features.regime import N_REGIMES, REGIME_NAMES

EMA_COLOURS = {"ema_8": "#f2a900", "ema_21": "#e4572e", "ema_50": "#3c91e6", "ema_200": "#6a4c93"}
# (feature, value, label, symbol, colour, above the bar?)
MARKERS = (
    ("hammer", 1, "hammer", "triangle-up", "#2a9d8f", False),
    ("shooting_star", 1, "shooting star", "triangle-down", "#d62828", True),
    ("engulfing", 1, "bullish engulfing", "triangle-up", "#2a9d8f", False),
    ("engulfing", -1, "bearish engulfing", "triangle-down", "#d62828", True),
    ("star", 1, "morning star", "star", "#2a9d8f", False),
    ("star", -1, "evening star", "star", "#d62828", True),
    ("breakout_20", 1, "20-day breakout", "diamond", "#1d3557", True),
    ("breakout_20", -1, "20-day breakdown", "diamond", "#e76f51", False),
)
# 12 distinguishable colours, one per regime id
REGIME_COLOURS = (
    "#1a9850",
    "#66bd63",
    "#a6d96a",
    "#d9ef8b",
    "#4575b4",
    "#74add1",
    "#abd9e9",
    "#e0f3f8",
    "#fdae61",
    "#f46d43",
    "#d73027",
    "#a50026",
)


def plot_signal_chart(
    prices: pd.DataFrame, overlays: pd.DataFrame, features: pd.DataFrame, ticker: str
) -> go.Figure:
    """Candles (or closes), EMA 8/21/50/200, Bollinger bands and pattern markers.

    ``prices`` are one ticker's rows; ``overlays`` and ``features`` are indexed by date
    over the same window. Markers sit below the low (bullish) or above the high (bearish).
    """
    dates = prices["date"]
    has_ohlc = prices[["open", "high", "low"]].notna().any().all()
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=overlays.index,
            y=overlays["bb_upper"],
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=overlays.index,
            y=overlays["bb_lower"],
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(120,120,160,0.15)",
            name="Bollinger 20, 2",
        )
    )
    if has_ohlc:
        fig.add_trace(
            go.Candlestick(
                x=dates,
                open=prices["open"],
                high=prices["high"],
                low=prices["low"],
                close=prices["close"],
                name=ticker,
            )
        )
    else:
        fig.add_trace(
            go.Scatter(
                x=dates, y=prices["close"], mode="lines", name="close", line={"color": "#222"}
            )
        )
    for column, colour in EMA_COLOURS.items():
        fig.add_trace(
            go.Scatter(
                x=overlays.index,
                y=overlays[column],
                mode="lines",
                name=column.replace("_", " ").upper(),
                line={"color": colour, "width": 1.2},
            )
        )
    high = prices.set_index("date")["high"].fillna(prices.set_index("date")["close"])
    low = prices.set_index("date")["low"].fillna(prices.set_index("date")["close"])
    for column, value, label, symbol, colour, above in MARKERS:
        if column not in features:
            continue
        hits = features.index[features[column] == value]
        if len(hits) == 0:
            continue
        y = high.reindex(hits) * 1.015 if above else low.reindex(hits) * 0.985
        fig.add_trace(
            go.Scatter(
                x=hits,
                y=y,
                mode="markers",
                name=label,
                marker={"symbol": symbol, "size": 10, "color": colour},
            )
        )
    kind = "OHLC" if has_ohlc else "close only: candles and candle patterns need open/high/low"
    fig.update_layout(
        title=f"{ticker} ({kind})",
        height=540,
        xaxis_rangeslider_visible=False,
        legend={"orientation": "h", "y": -0.12},
        margin={"l": 40, "r": 20, "t": 50, "b": 30},
    )
    return fig


def plot_smi_gauge(value: float, label: str, components: dict[str, float]) -> go.Figure:
    """Smart Money Index gauge (0-100) beside its components' percentiles."""
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.5, 0.5],
        specs=[[{"type": "indicator"}, {"type": "xy"}]],
    )
    fig.add_trace(
        go.Indicator(
            mode="gauge+number",
            value=None if not np.isfinite(value) else value,
            title={"text": f"Smart Money Index: {label}"},
            gauge={
                "axis": {"range": [0, 100]},
                "bar": {"color": "#1d3557"},
                "steps": [
                    {"range": [0, 40], "color": "#f4a3a3"},
                    {"range": [40, 60], "color": "#e9ecef"},
                    {"range": [60, 100], "color": "#a8dadc"},
                ],
            },
        ),
        row=1,
        col=1,
    )
    names, values = list(components), [components[n] for n in components]
    fig.add_trace(
        go.Bar(x=values, y=names, orientation="h", marker_color="#457b9d", name="percentile"),
        row=1,
        col=2,
    )
    fig.update_xaxes(range=[0, 100], title_text="percentile in the ticker's history", row=1, col=2)
    fig.update_layout(height=300, showlegend=False, margin={"l": 30, "r": 20, "t": 60, "b": 40})
    return fig


def plot_regime_strip(history: pd.DataFrame) -> go.Figure:
    """The regime id per date as a coloured strip; hover names the regime."""
    ids = history["regime_id"].to_numpy(dtype=float)
    names = history["regime_name"].fillna("no regime (input missing)").to_numpy()
    scale = [
        [edge, REGIME_COLOURS[i]]
        for i in range(N_REGIMES)
        for edge in (i / N_REGIMES, (i + 1) / N_REGIMES)
    ]
    fig = go.Figure(
        go.Heatmap(
            x=history.index,
            y=["regime"],
            z=[ids],
            text=[names],
            zmin=-0.5,
            zmax=N_REGIMES - 0.5,
            colorscale=scale,
            hovertemplate="%{x|%Y-%m-%d}: %{text}<extra></extra>",
            colorbar={
                "tickvals": list(range(N_REGIMES)),
                "ticktext": [f"{i} {name}" for i, name in enumerate(REGIME_NAMES)],
                "len": 1.0,
                "thickness": 14,
            },
        )
    )
    fig.update_layout(height=330, margin={"l": 40, "r": 20, "t": 20, "b": 30})
    return fig


def plot_transition_matrix(matrix: pd.DataFrame) -> go.Figure:
    """Share of days in regime i (rows) followed by regime j (columns)."""
    labels = [f"{i}: {REGIME_NAMES[i]}" for i in range(N_REGIMES)]
    text = np.where(np.isfinite(matrix.to_numpy()), (100 * matrix).round(0).astype(str) + "%", "")
    text = np.char.replace(text.astype(str), ".0%", "%")
    fig = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(),
            x=list(range(N_REGIMES)),
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale="Blues",
            zmin=0,
            zmax=1,
            hovertemplate="from %{y} to %{x}: %{z:.1%}<extra></extra>",
        )
    )
    fig.update_layout(
        height=460,
        xaxis_title="next day's regime",
        yaxis={"autorange": "reversed"},
        margin={"l": 20, "r": 20, "t": 20, "b": 40},
    )
    return fig
