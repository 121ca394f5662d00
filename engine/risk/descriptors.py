"""Style descriptors per (date, ticker) from a wide close panel, rows <= t only.

Every descriptor at date t is a function of closes (and volumes) dated t or earlier: the
window operations look backwards along the date axis only (engine.features.panel's
shifts and returns; bottleneck's moving windows, which run forward from the first row), so
changing any row after t leaves every value at t unchanged.

The descriptors (daily log returns ``r``; a trailing window needs ``MIN_SHARE`` of its
sessions, else NaN):

- ``size``: no market capitalization is available, so the proxy is the log of the
  60-session mean dollar volume (close x volume), which tracks capitalization across names
  (large caps trade more dollars). NaN without a volume panel;
- ``momentum``: 12-1 momentum, the log return from t - 252 to t - 21;
- ``reversal``: the log return over the last 21 sessions (the exposure is the recent
  return itself; a reversal premium shows as a negative factor return);
- ``volatility``: the standard deviation of the last 63 daily log returns;
- ``beta``: the 252-session regression slope of ``r`` on the market's daily log return
  (a given index or, without one, the equal-weight mean of the universe's ``r``);
- ``liquidity``: the log of the 21-session mean volume, a turnover proxy (no shares
  outstanding are available to divide by). NaN without a volume panel. It is close to
  ``size`` by construction, so ``compute_exposures`` orthogonalizes it to size per date
  (as Barra does with its liquidity factor).

``standardize`` turns a descriptor into an exposure per date: a robust z-score
(median, 1.4826 MAD) winsorized at +-3, then a plain z-score (mean 0, standard deviation
1 over the names that have a value). Missing stays NaN here.
"""

from __future__ import annotations

import math

import bottleneck as bn
import numpy as np
import pandas as pd

from engine.features.panel import shift
from engine.modeling.processors import MAD_TO_SIGMA

STYLES = ("size", "momentum", "reversal", "volatility", "beta", "liquidity")
VOLUME_STYLES = ("size", "liquidity")  # NaN without a volume panel
MIN_SHARE = 0.8  # share of a trailing window's sessions that must have a value
CLIP = 3.0  # winsorizing bound of the robust z-score


def _trailing_mean(x: np.ndarray, window: int) -> np.ndarray:
    """Mean of the finite values among rows t - window + 1 .. t (NaN with fewer than
    ``MIN_SHARE`` of the window, or fewer rows than the window)."""
    if len(x) < window:
        return np.full(x.shape, np.nan)
    return bn.move_mean(x, window, min_count=math.ceil(MIN_SHARE * window), axis=0)


def _trailing_std(x: np.ndarray, window: int) -> np.ndarray:
    """Sample standard deviation (ddof 1) of the finite values in the trailing window."""
    if len(x) < window:
        return np.full(x.shape, np.nan)
    return bn.move_std(x, window, min_count=math.ceil(MIN_SHARE * window), axis=0, ddof=1)


def _trailing_beta(r: np.ndarray, market: np.ndarray, window: int) -> np.ndarray:
    """(D, N) slope of ``r`` on ``market`` (D,) over the trailing window's common dates."""
    both = np.isfinite(r) & np.isfinite(market)[:, None]
    m = np.where(both, market[:, None], np.nan)
    r = np.where(both, r, np.nan)
    mean_m, mean_r = _trailing_mean(m, window), _trailing_mean(r, window)
    covariance = _trailing_mean(r * m, window) - mean_r * mean_m
    variance = _trailing_mean(m * m, window) - mean_m * mean_m
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(variance > 0, covariance / variance, np.nan)


def compute_descriptors(
    close: pd.DataFrame,
    volume: pd.DataFrame | None = None,
    *,
    market: pd.Series | None = None,
) -> dict[str, np.ndarray]:
    """The raw style descriptors of every (date, ticker), rows <= t only.

    Parameters
    ----------
    close : DataFrame of shape (D, N)
        Adjusted closes, dates (sorted, sessions) by tickers; NaN where missing.
    volume : DataFrame of shape (D, N), optional
        Share volumes on the same grid. Without it ``size`` and ``liquidity`` are NaN.
    market : Series, optional
        The market's daily log return by date (an index); reindexed to ``close``'s dates.
        Default: the equal-weight mean of the universe's daily log returns.

    Returns
    -------
    dict of str to ndarray of shape (D, N)
        One array per name of ``STYLES``, NaN where the window lacks data.
    """
    prices = close.to_numpy(dtype=float)
    log_close = np.log(np.where(prices > 0, prices, np.nan))
    daily = log_close - shift(log_close)
    if market is None:  # a date without any return stays NaN
        index = bn.nanmean(daily, axis=1)
    else:
        index = market.reindex(close.index).to_numpy(dtype=float)
    out = {
        "momentum": shift(log_close, 21) - shift(log_close, 252),
        "reversal": log_close - shift(log_close, 21),
        "volatility": _trailing_std(daily, 63),
        "beta": _trailing_beta(daily, index, 252),
    }
    if volume is None:
        missing = np.full(prices.shape, np.nan)
        out |= {"size": missing, "liquidity": missing.copy()}
    else:
        shares = volume.reindex(index=close.index, columns=close.columns).to_numpy(dtype=float)
        dollars = _trailing_mean(prices * shares, 60)
        traded = _trailing_mean(shares, 21)
        out["size"] = np.log(np.where(dollars > 0, dollars, np.nan))
        out["liquidity"] = np.log(np.where(traded > 0, traded, np.nan))
    return {name: out[name] for name in STYLES}


def standardize(values: np.ndarray, *, clip: float = CLIP) -> np.ndarray:
    """Per date (row): robust z-score winsorized at +-``clip``, then z-scored.

    Parameters
    ----------
    values : ndarray of shape (D, N)
        One descriptor; NaN where missing.
    clip : float
        Bound of the robust z-score ``(x - median) / (1.4826 MAD)`` (the MAD falls back to
        the standard deviation on a date where more than half the names share a value).

    Returns
    -------
    ndarray of shape (D, N)
        Mean 0 and standard deviation 1 (ddof 0) across each date's finite entries; NaN
        where ``values`` is, and on a date with fewer than 3 values or none that differ.
    """
    x = np.asarray(values, dtype=float)
    out = np.full(x.shape, np.nan)
    varies = bn.nanmax(x, axis=1) > bn.nanmin(x, axis=1)  # False on an all-NaN row too
    rows = np.flatnonzero(varies & (np.isfinite(x).sum(axis=1) >= 3))
    v = x[rows]
    median = bn.nanmedian(v, axis=1)[:, None]
    scale = bn.nanmedian(np.abs(v - median), axis=1)[:, None] * MAD_TO_SIGMA
    scale = np.where(scale > 0, scale, bn.nanstd(v, axis=1)[:, None])
    robust = np.clip((v - median) / scale, -clip, clip)
    centred = robust - bn.nanmean(robust, axis=1)[:, None]
    out[rows] = centred / bn.nanstd(robust, axis=1)[:, None]
    return out
