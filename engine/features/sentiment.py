"""Sentiment family: news tone, its change and divergence from price, insider net buying.

Point in time: a news item counts from the first NYSE session after the New York date it
was published on, an insider transaction from the first session after its filing date, so
an item published during or after the session of t never reaches the row of t (T-1, like
the cross-asset family). Columns are NaN, and ``avail_sentiment`` 0, where the store holds
no fetched range covering the window (``SentimentInputs.coverage``); inside a covered range
no news means a neutral 0 and no open-market filing a net buying of 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.calendar import sessions_between
from engine.features.base import ColumnSpec, FeatureParams, run_family
from engine.features.context import MarketContext, SentimentInputs
from engine.features.panel import Array, WidePanel, pct_change, rolling_sum, safe_divide, shift

NEWS_WINDOW = 5  # sessions of news in a level; the change compares levels 5 sessions apart
INSIDER_WINDOWS = {"insider_net_30d": 21, "insider_net_90d": 63}  # sessions
OPEN_MARKET = ("P", "S")  # Form 4 codes of open-market purchases and sales
# A row is covered when every item that could fall in its windows was fetched.
COVERAGE_SESSIONS = {"news": 2 * NEWS_WINDOW, "insider": max(INSIDER_WINDOWS.values())}


def columns(params: FeatureParams | None = None) -> tuple[ColumnSpec, ...]:
    news = ("news",)
    return (
        ColumnSpec(
            "news_sentiment_5d", news, "mean headline score of the news of the last 5 sessions"
        ),
        ColumnSpec(
            "news_sentiment_change_5d", news, "news_sentiment_5d minus its value 5 sessions ago"
        ),
        ColumnSpec("news_count_5d", news, "news items of the last 5 sessions"),
        ColumnSpec(
            "sentiment_divergence",
            ("news", "close"),
            "sentiment change minus the sign of the 5-session return to the previous session",
        ),
        ColumnSpec(
            "insider_net_30d",
            ("insider",),
            "insider open-market (bought - sold) / (bought + sold) shares, 21 sessions",
        ),
        ColumnSpec(
            "insider_net_90d",
            ("insider",),
            "insider open-market (bought - sold) / (bought + sold) shares, 63 sessions",
        ),
    )


def _grid(panel: WidePanel, tickers: pd.Series, public: pd.Series, values: np.ndarray) -> Array:
    """``(T, N)`` sums of ``values`` on the panel row where each item becomes usable: the
    first NYSE session after its public date (items usable outside the panel are dropped)."""
    grid = np.zeros(panel.close.shape)
    if len(public) == 0:
        return grid
    public = pd.DatetimeIndex(public).astype("datetime64[ns]")
    sessions = sessions_between(public.min(), public.max() + pd.Timedelta(days=10))
    at = np.searchsorted(sessions, public, side="right")
    inside = at < len(sessions)
    usable = np.full(len(public), np.datetime64("NaT"), dtype="datetime64[ns]")
    usable[inside] = sessions.to_numpy()[at[inside]]
    rows = panel.dates.get_indexer(pd.DatetimeIndex(usable))
    cols = pd.Index(panel.tickers).get_indexer(tickers.to_numpy())
    keep = (rows >= 0) & (cols >= 0)
    np.add.at(grid, (rows[keep], cols[keep]), values[keep])
    return grid


def _merged(ranges: pd.DataFrame) -> list[tuple[np.datetime64, np.datetime64]]:
    """(first, last) of the ranges, sorted, with touching or overlapping ones joined."""
    merged: list[list[pd.Timestamp]] = []
    for first, last in sorted(zip(ranges["first_date"], ranges["last_date"], strict=True)):
        if merged and first <= merged[-1][1] + pd.Timedelta(days=1):
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    return [(np.datetime64(lo, "ns"), np.datetime64(hi, "ns")) for lo, hi in merged]


def covered(panel: WidePanel, coverage: pd.DataFrame, kind: str, window: int) -> Array:
    """``(T, N)`` bool: one fetched range spans every public date whose items can reach
    row t's ``window`` sessions: [date of row t - window, date of row t - 1 day]."""
    out = np.zeros(panel.close.shape, dtype=bool)
    dates = panel.dates.to_numpy(dtype="datetime64[ns]")
    start = np.full(len(dates), np.datetime64("NaT"), dtype="datetime64[ns]")
    if window < len(dates):
        start[window:] = dates[:-window]
    end = dates - np.timedelta64(1, "D")
    for ticker, ranges in coverage[coverage["kind"] == kind].groupby("ticker"):
        if ticker in panel.tickers:
            j = panel.tickers.index(ticker)
            for lo, hi in _merged(ranges):
                out[:, j] |= (start >= lo) & (end <= hi)
    return out


def sentiment_presence(panel: WidePanel, inputs: SentimentInputs) -> dict[str, Array]:
    """Input name -> ``(T, N)`` bool: the row's windows are covered by fetched ranges."""
    return {
        kind: covered(panel, inputs.coverage, kind, window)
        for kind, window in COVERAGE_SESSIONS.items()
    }


def sentiment_arrays(
    panel: WidePanel, context: MarketContext | None = None, params: FeatureParams | None = None
) -> dict[str, Array]:
    if context is None:
        raise ValueError("the sentiment family needs a market context (build_context)")
    inputs = context.sentiment
    presence = sentiment_presence(panel, inputs)
    news = inputs.news
    scores = _grid(panel, news["ticker"], news["public_date"], news["score"].to_numpy(float))
    counts = _grid(panel, news["ticker"], news["public_date"], np.ones(len(news)))
    total, count = rolling_sum(scores, NEWS_WINDOW), rolling_sum(counts, NEWS_WINDOW)
    level = np.where(count > 0, safe_divide(total, count), 0.0)
    change = level - shift(level, NEWS_WINDOW)
    price_sign = np.sign(shift(pct_change(panel.close, NEWS_WINDOW)))
    out = {
        "news_sentiment_5d": level,
        "news_sentiment_change_5d": change,
        "news_count_5d": count,
        "sentiment_divergence": change - price_sign,
    }
    out = {name: np.where(presence["news"], values, np.nan) for name, values in out.items()}
    trades = inputs.insider[inputs.insider["code"].isin(OPEN_MARKET)]
    signed = trades["change"].to_numpy(float)
    net = _grid(panel, trades["ticker"], trades["filing_date"], signed)
    gross = _grid(panel, trades["ticker"], trades["filing_date"], np.abs(signed))
    for name, window in INSIDER_WINDOWS.items():
        bought_sold = rolling_sum(gross, window)
        ratio = np.where(bought_sold > 0, safe_divide(rolling_sum(net, window), bought_sold), 0.0)
        out[name] = np.where(presence["insider"], ratio, np.nan)
    return out


def compute_sentiment(prices: pd.DataFrame, *, context: MarketContext) -> pd.DataFrame:
    """Sentiment features by (ticker, date); row t uses items public before t's date."""
    return run_family(sentiment_arrays, columns(context.params), prices, context)
