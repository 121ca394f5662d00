"""Cross-asset family: the index, VIX (or its proxy), beta and correlation, factor ETFs,
and, when stored, Treasury yields, the dollar, FRED's VIX and BTC-USD (``macro``).

Every column is aligned to T-1: the value at date t is computed from market data dated
t-1 and earlier (macro series: known by the session before t), so nothing printed on the
same day (VIX settles after the stock close) can leak into a forecast made at t's close.
A series that is not stored leaves its columns NaN, and ``avail_cross_asset`` below 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.features import macro
from engine.features.base import ColumnSpec, FeatureParams, broadcast, run_family
from engine.features.context import MarketContext, compute_volatility_gauge
from engine.features.panel import (
    Array,
    WidePanel,
    by_date,
    log_return,
    rolling_mean,
    safe_divide,
    shift,
)

WINDOW = 60


def factor_column(ticker: str) -> str:
    return f"factor_{ticker.lower()}_5d"


def columns(params: FeatureParams | None = None) -> tuple[ColumnSpec, ...]:
    params = params or FeatureParams()
    idx = ("index",)
    base = (
        ColumnSpec("index_ret_1d", idx, "index return, previous session"),
        ColumnSpec("index_ret_20d", idx, "index 20-day return, to the previous session"),
        ColumnSpec("index_trend_50", idx, "index close / its 50-day mean - 1, previous session"),
        ColumnSpec(
            "vix_level", ("vix",), "VIX close (or the realized-volatility proxy), previous session"
        ),
        ColumnSpec("vix_change_5d", ("vix",), "5-day change of VIX (or proxy), previous session"),
        ColumnSpec(
            "vix_proxy", ("vix",), "1 where the realized-volatility proxy stands in for VIX"
        ),
        ColumnSpec(
            "beta_60", ("close", "index"), "60-day beta to the index, to the previous session"
        ),
        ColumnSpec(
            "corr_60", ("close", "index"), "60-day correlation with the index, previous session"
        ),
    )
    factors = tuple(
        ColumnSpec(factor_column(t), ("factors",), f"{t} 5-day return, to the previous session")
        for t in params.factor_tickers
    )
    return base + factors + macro.COLUMNS


def _lagged(series: pd.Series) -> pd.Series:
    """The series one market session later (its own dates), so row t holds t-1."""
    return series.shift(1)


def market_columns(context: MarketContext) -> dict[str, pd.Series]:
    """Per-date market columns, already lagged to T-1 on the market's own calendar."""
    out: dict[str, pd.Series] = {}
    if context.index is not None:
        close = context.index["close"]
        out["index_ret_1d"] = _lagged(close / close.shift(1) - 1.0)
        out["index_ret_20d"] = _lagged(close / close.shift(20) - 1.0)
        out["index_trend_50"] = _lagged(close / close.rolling(50).mean() - 1.0)
    gauge = compute_volatility_gauge(context)
    out["vix_level"] = _lagged(gauge["level"])
    out["vix_change_5d"] = _lagged(gauge["change_5d"])
    out["vix_proxy"] = _lagged(gauge["is_proxy"])
    for ticker in context.factors.columns:
        close = context.factors[ticker].dropna()
        out[factor_column(ticker)] = _lagged(close / close.shift(5) - 1.0)
    return out


def beta_and_correlation(returns: Array, index_returns: Array, window: int) -> tuple[Array, Array]:
    """Rolling beta and correlation of each column against the ``(T, 1)`` index column."""
    index_returns = np.where(np.isfinite(returns), index_returns, np.nan)
    mean_x, mean_y = rolling_mean(returns, window), rolling_mean(index_returns, window)
    cov = rolling_mean(returns * index_returns, window) - mean_x * mean_y
    var_x = rolling_mean(returns**2, window) - mean_x**2
    var_y = rolling_mean(index_returns**2, window) - mean_y**2
    beta = safe_divide(cov, var_y)
    corr = safe_divide(cov, np.sqrt(np.clip(var_x, 0.0, None) * np.clip(var_y, 0.0, None)))
    return beta, corr


def cross_asset_arrays(
    panel: WidePanel, context: MarketContext | None = None, params: FeatureParams | None = None
) -> dict[str, Array]:
    if context is None:
        raise ValueError("the cross_asset family needs a market context (build_context)")
    if context.index is not None:
        index_returns = by_date(panel, np.log(context.index["close"]).diff())
        beta, corr = beta_and_correlation(log_return(panel.close), index_returns, WINDOW)
    else:
        beta = corr = np.full(panel.close.shape, np.nan)
    per_ticker = {"beta_60": shift(beta), "corr_60": shift(corr)}
    market = {
        name: by_date(panel, values) for name, values in market_columns(context).items()
    } | macro.macro_columns(panel, context.macro)
    missing = np.full((len(panel.dates), 1), np.nan)
    return {
        spec.name: per_ticker[spec.name]
        if spec.name in per_ticker
        else broadcast(panel, market.get(spec.name, missing))
        for spec in columns(context.params)
    }


def compute_cross_asset(prices: pd.DataFrame, *, context: MarketContext) -> pd.DataFrame:
    """Cross-asset features by (ticker, date); row t uses market data dated <= t-1 only."""
    return run_family(cross_asset_arrays, columns(context.params), prices, context)
