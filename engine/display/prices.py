"""Price figures. plot_* functions build and return a plotly Figure; they never show it."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots


def plot_price_chart(prices: pd.DataFrame, ticker: str) -> go.Figure:
    """Candlesticks (or a close line when the source has closes only) with volume below.

    Parameters
    ----------
    prices : pd.DataFrame
        Normalized rows of one ticker, sorted by date.
    ticker : str
        Used in the title.

    Missing sessions and missing values are left as gaps, never bridged.
    """
    has_ohlc = prices[["open", "high", "low"]].notna().any().all()
    has_volume = prices["volume"].notna().any()
    rows = 2 if has_volume else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[0.75, 0.25] if has_volume else [1.0],
    )
    if has_ohlc:
        fig.add_trace(
            go.Candlestick(
                x=prices["date"],
                open=prices["open"],
                high=prices["high"],
                low=prices["low"],
                close=prices["close"],
                name=ticker,
            ),
            row=1,
            col=1,
        )
    else:
        fig.add_trace(
            go.Scatter(
                x=prices["date"], y=prices["close"], mode="lines", name="close", connectgaps=False
            ),
            row=1,
            col=1,
        )
    if has_volume:
        fig.add_trace(
            go.Bar(x=prices["date"], y=prices["volume"], name="volume", marker_color="#8da0b6"),
            row=2,
            col=1,
        )
    kind = "OHLC" if has_ohlc else "close only: open/high/low not in this source"
    fig.update_layout(
        title=f"{ticker} ({kind})",
        showlegend=False,
        height=520,
        xaxis_rangeslider_visible=False,
        margin={"l": 40, "r": 20, "t": 50, "b": 30},
    )
    return fig


def plot_relative_performance(prices: pd.DataFrame, start: pd.Timestamp) -> go.Figure:
    """Each ticker's close divided by its first close on or after ``start`` (=1.0).

    Parameters
    ----------
    prices : pd.DataFrame
        Normalized rows of several tickers, already limited to dates <= the as-of date.
    start : pd.Timestamp
        First date shown.
    """
    window = prices[prices["date"] >= start].dropna(subset=["close"])
    fig = go.Figure()
    for ticker, rows in window.groupby("ticker", sort=True):
        fig.add_trace(
            go.Scatter(
                x=rows["date"], y=rows["close"] / rows["close"].iloc[0], mode="lines", name=ticker
            )
        )
    fig.update_layout(
        title="Growth of 1 since the window start",
        height=420,
        yaxis_title="x start",
        margin={"l": 40, "r": 20, "t": 50, "b": 30},
    )
    return fig
