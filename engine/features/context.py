"""The market context the context families read: index, VIX, factors, breadth, macro
series and per-ticker news and insider filings.

Built from the same long price frame as the features (so truncating the prices truncates
the context), plus what the as-of snapshot read from the store as known by its date (macro
rows with known_date <= t, items public by t); nothing in it looks past the date it is read
at. Without macro or sentiment inputs those fields are empty and their columns NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.data.finnhub import INSIDER_COLUMNS, NEWS_COLUMNS
from engine.data.macro import empty_macro
from engine.features.base import FeatureParams
from engine.features.panel import rolling_mean, to_wide
from engine.metrics import TRADING_DAYS


def _no_rows(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(columns=list(columns))


@dataclass(frozen=True)
class SentimentInputs:
    """Point-in-time items per ticker (see ``engine.data.finnhub``).

    Attributes
    ----------
    news : DataFrame, columns ``NEWS_COLUMNS`` (``public_date``: New York date it was public)
    insider : DataFrame, columns ``INSIDER_COLUMNS`` (``filing_date``: when it was public)
    coverage : DataFrame, columns ticker, kind ("news" / "insider"), first_date, last_date:
        the ranges fetched; inside one, no item means none, outside it nothing is known.
    """

    news: pd.DataFrame = field(default_factory=lambda: _no_rows(NEWS_COLUMNS))
    insider: pd.DataFrame = field(default_factory=lambda: _no_rows(INSIDER_COLUMNS))
    coverage: pd.DataFrame = field(
        default_factory=lambda: _no_rows(("ticker", "kind", "first_date", "last_date"))
    )


@dataclass(frozen=True)
class MarketContext:
    """Date-indexed market series.

    Attributes
    ----------
    index : DataFrame or None
        The index's open/high/low/close by date (NaN where the source lacks a field).
    vix : Series or None
        VIX closes by date; None when the source has no VIX at all.
    factors : DataFrame
        Factor ETF closes, one column per ticker present (may have no columns).
    breadth : Series
        Share (0-1) of ``universe`` closing above its 50-day average, by date; NaN where
        fewer than ``params.breadth_min_names`` names have 50 days of history.
    universe : tuple of str
        The names breadth is measured on.
    macro : DataFrame
        Macro rows (``engine.data.macro.MACRO_COLUMNS``, every revision), each usable from
        its ``known_date``; no rows when none are stored.
    sentiment : SentimentInputs
        News and insider items of the tickers; empty when none are stored.
    """

    params: FeatureParams
    index: pd.DataFrame | None
    vix: pd.Series | None
    factors: pd.DataFrame
    breadth: pd.Series
    universe: tuple[str, ...]
    macro: pd.DataFrame = field(default_factory=empty_macro)
    sentiment: SentimentInputs = field(default_factory=SentimentInputs)


def _frame_of(prices: pd.DataFrame, ticker: str) -> pd.DataFrame | None:
    rows = prices[prices["ticker"] == ticker]
    if rows.empty:
        return None
    return rows.set_index("date")[["open", "high", "low", "close"]].sort_index()


def default_universe(prices: pd.DataFrame, params: FeatureParams) -> tuple[str, ...]:
    """Every ticker that is neither an index (``^``) nor a factor ETF."""
    tickers = prices["ticker"].unique()
    return tuple(
        sorted(t for t in tickers if not t.startswith("^") and t not in params.factor_tickers)
    )


def compute_breadth(prices: pd.DataFrame, universe: tuple[str, ...], min_names: int) -> pd.Series:
    """Share of ``universe`` closing above its own 50-day mean; rows <= t only."""
    rows = prices[prices["ticker"].isin(universe)]
    if rows.empty:
        return pd.Series(dtype=float, name="breadth")
    panel = to_wide(rows)
    average = rolling_mean(panel.close, 50)
    valid = np.isfinite(average) & np.isfinite(panel.close)
    above = (panel.close > average) & valid
    counted = valid.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(counted >= min_names, above.sum(axis=1) / counted, np.nan)
    return pd.Series(share, index=panel.dates, name="breadth")


def build_context(
    prices: pd.DataFrame,
    params: FeatureParams | None = None,
    universe: tuple[str, ...] | None = None,
    *,
    macro: pd.DataFrame | None = None,
    sentiment: SentimentInputs | None = None,
) -> MarketContext:
    """Pick the index, VIX and factor series out of ``prices`` and measure breadth.

    ``macro`` and ``sentiment`` must already be cut to what was known at the last date of
    ``prices`` (the snapshot reads them so); the families lag them one session further.
    """
    params = params or FeatureParams()
    universe = tuple(universe) if universe is not None else default_universe(prices, params)
    vix = _frame_of(prices, params.vix_ticker)
    factor_closes = {
        ticker: frame["close"]
        for ticker in params.factor_tickers
        if (frame := _frame_of(prices, ticker)) is not None
    }
    return MarketContext(
        params=params,
        index=_frame_of(prices, params.index_ticker),
        vix=None if vix is None else vix["close"],
        factors=pd.DataFrame(factor_closes),
        breadth=compute_breadth(prices, universe, params.breadth_min_names),
        universe=universe,
        macro=empty_macro() if macro is None else macro,
        sentiment=sentiment or SentimentInputs(),
    )


def compute_volatility_gauge(context: MarketContext) -> pd.DataFrame:
    """VIX level and 5-day change by date, or the index's realized-volatility proxy.

    Columns ``level``, ``change_5d`` and ``is_proxy`` (1.0 where the proxy stands in:
    20-day realized volatility of the index, annualized, in VIX points). Rows <= t only.
    """
    parts = []
    if context.index is not None:
        close = context.index["close"]
        proxy = np.log(close / close.shift(1)).rolling(20).std() * np.sqrt(TRADING_DAYS) * 100.0
        parts.append(pd.DataFrame({"level": proxy, "change_5d": proxy / proxy.shift(5) - 1.0}))
    proxy_frame = parts[0] if parts else None
    if context.vix is None:
        gauge = (
            proxy_frame if proxy_frame is not None else pd.DataFrame(columns=["level", "change_5d"])
        )
        return gauge.assign(is_proxy=np.where(gauge["level"].notna(), 1.0, np.nan))
    vix = context.vix
    quoted = pd.DataFrame({"level": vix, "change_5d": vix / vix.shift(5) - 1.0})
    if proxy_frame is None:
        return quoted.assign(is_proxy=np.where(quoted["level"].notna(), 0.0, np.nan))
    dates = proxy_frame.index.union(quoted.index)
    quoted, proxy_frame = quoted.reindex(dates), proxy_frame.reindex(dates)
    use_proxy = quoted["level"].isna()
    gauge = quoted.where(~use_proxy, proxy_frame, axis=0)
    return gauge.assign(is_proxy=np.where(gauge["level"].notna(), use_proxy.astype(float), np.nan))
