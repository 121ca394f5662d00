"""Wide (session x ticker) arrays and the causal window operations every family uses.

Families compute on ``(T, N)`` float arrays laid out on the NYSE session calendar, so a
ticker's values never depend on which other tickers share the batch: a missing session is a
NaN row, not a skipped one. Every operation here looks backwards along axis 0 only: the
value in row t is a function of rows <= t, which is what the truncation test checks.
"""

from __future__ import annotations

from dataclasses import dataclass

import bottleneck as bn
import numpy as np
import pandas as pd

from engine.data.calendar import sessions_between
from engine.data.schema import VALUE_COLUMNS

Array = np.ndarray


@dataclass(frozen=True)
class WidePanel:
    """Prices as ``(T, N)`` arrays on a shared session index.

    Attributes
    ----------
    dates : DatetimeIndex, length T
        NYSE sessions from the first to the last input date (plus any input date that is
        not a session and has a value, so nothing is dropped).
    tickers : tuple of str, length N
    open, high, low, close, volume : ndarray, shape (T, N)
        NaN where the input has no row or no value.
    present : ndarray of bool, shape (T, N)
        True where the input has a row for (date, ticker); output rows are these.
    """

    dates: pd.DatetimeIndex
    tickers: tuple[str, ...]
    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array
    present: Array

    def has(self, *fields: str) -> Array:
        """``(T, N)`` bool: all of ``fields`` have a value in that row."""
        mask = np.ones(self.close.shape, dtype=bool)
        for field in fields:
            mask &= np.isfinite(getattr(self, field))
        return mask


def to_wide(prices: pd.DataFrame) -> WidePanel:
    """Lay a normalized long price frame out on the session calendar."""
    # A row with no values at all (a holiday in some sources) carries nothing to lay out.
    prices = prices[prices[list(VALUE_COLUMNS)].notna().any(axis=1)]
    if prices.empty:
        raise ValueError("no price rows to compute features from")
    dates = pd.DatetimeIndex(prices["date"].unique()).sort_values()
    sessions = sessions_between(dates[0], dates[-1])
    dates = sessions.union(dates)
    tickers = tuple(sorted(prices["ticker"].unique()))
    rows = dates.get_indexer(prices["date"])
    cols = pd.Index(tickers).get_indexer(prices["ticker"])
    present = np.zeros((len(dates), len(tickers)), dtype=bool)
    present[rows, cols] = True
    fields = {}
    for field in VALUE_COLUMNS:
        grid = np.full((len(dates), len(tickers)), np.nan)
        grid[rows, cols] = prices[field].to_numpy(dtype=float, na_value=np.nan)
        fields[field] = grid
    return WidePanel(dates=dates, tickers=tickers, present=present, **fields)


def to_long(panel: WidePanel, columns: dict[str, Array]) -> pd.DataFrame:
    """Frame indexed by (ticker, date) with one column per ``(T, N)`` array, input rows only."""
    mask = panel.present.T
    tick_idx, date_idx = np.nonzero(mask)
    index = pd.MultiIndex.from_arrays(
        [
            np.asarray(panel.tickers, dtype=object)[tick_idx],
            panel.dates[date_idx],
        ],
        names=["ticker", "date"],
    )
    data = {name: np.ascontiguousarray(values.T)[mask] for name, values in columns.items()}
    return pd.DataFrame(data, index=index)


def by_date(panel: WidePanel, series: pd.Series) -> Array:
    """A date-indexed series as a ``(T, 1)`` column aligned to the panel (NaN where absent)."""
    return series.reindex(panel.dates).to_numpy(dtype=float)[:, None]


# --- causal window operations along axis 0 -------------------------------------------------


def shift(x: Array, k: int = 1) -> Array:
    """Row t holds row t-k (NaN for the first k rows)."""
    out = np.full_like(x, np.nan, dtype=float)
    if k < len(x):
        out[k:] = x[: len(x) - k]
    return out


def shift_mask(mask: Array, k: int = 1) -> Array:
    """Boolean row t holds row t-k (False for the first k rows)."""
    out = np.zeros_like(mask, dtype=bool)
    if k < len(mask):
        out[k:] = mask[: len(mask) - k]
    return out


def pct_change(x: Array, k: int = 1) -> Array:
    """x_t / x_{t-k} - 1."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return x / shift(x, k) - 1.0


def log_return(x: Array, k: int = 1) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(x / shift(x, k))


def _moving(move, x: Array, window: int, min_count: int | None = None, **kwargs) -> Array:
    """A bottleneck ``move_*`` along axis 0; all NaN when there are fewer rows than the window."""
    if len(x) < window:
        return np.full(x.shape, np.nan)
    return move(x, window, min_count=min_count or window, axis=0, **kwargs)


def rolling_mean(x: Array, window: int) -> Array:
    """Mean of the last ``window`` rows; NaN unless all are present."""
    return _moving(bn.move_mean, x, window)


def rolling_sum(x: Array, window: int) -> Array:
    return _moving(bn.move_sum, x, window)


def rolling_std(x: Array, window: int, ddof: int = 0) -> Array:
    return _moving(bn.move_std, x, window, ddof=ddof)


def rolling_max(x: Array, window: int) -> Array:
    return _moving(bn.move_max, x, window)


def rolling_min(x: Array, window: int) -> Array:
    return _moving(bn.move_min, x, window)


def rolling_percentile(x: Array, window: int, min_count: int | None = None) -> Array:
    """Percentile (0-1) of row t within the last ``window`` rows, ties averaged."""
    return (_moving(bn.move_rank, x, window, min_count) + 1.0) / 2.0


def rolling_zscore(x: Array, window: int) -> Array:
    return safe_divide(x - rolling_mean(x, window), rolling_std(x, window, ddof=1))


def rolling_weighted_sum(x: Array, weights: Array) -> Array:
    """sum_j weights[j] * x_{t-len+1+j}: a fixed causal kernel; NaN if any input is NaN."""
    width, rows = len(weights), len(x)
    out = np.full_like(x, np.nan, dtype=float)
    if rows >= width:
        # Tap by tap, not a BLAS product: the sum for row t must not depend on the array's
        # length (BLAS blocking does), or truncating the data would change past values.
        total = np.zeros((rows - width + 1,) + x.shape[1:])
        for j, weight in enumerate(weights):
            total += weight * x[j : rows - width + 1 + j]
        out[width - 1 :] = total
    return out


def rolling_slope_of_sum(increments: Array, window: int) -> Array:
    """Least-squares slope over ``window`` rows of the running sum of ``increments``.

    The running sum's starting level cancels out of a slope, so only the last
    ``window - 1`` increments matter: the result does not depend on how much history
    precedes it.
    """
    positions = np.arange(window, dtype=float)
    centred = positions - positions.mean()
    # y_i = y_0 + sum_{j<=i} inc_j, so slope = sum_j inc_j * sum_{i>=j} centred_i / sum c^2
    tail_weights = np.cumsum(centred[::-1])[::-1][1:] / np.sum(centred**2)
    return rolling_weighted_sum(increments, tail_weights)


def ewm_mean(
    x: Array,
    *,
    span: float | None = None,
    alpha: float | None = None,
    adjust: bool = True,
    min_periods: int = 0,
) -> Array:
    """Exponentially weighted mean per column (pandas' definition); NaN where x is NaN."""
    frame = pd.DataFrame(x, copy=False)
    smoothed = frame.ewm(span=span, alpha=alpha, adjust=adjust, min_periods=min_periods).mean()
    out = smoothed.to_numpy(copy=True)
    out[~np.isfinite(x)] = np.nan  # pandas carries the mean across a gap; a gap stays a gap
    return out


def wilder(x: Array, period: int) -> Array:
    """Wilder's smoothing (alpha = 1/period), as RSI, ATR and ADX define it."""
    return ewm_mean(x, alpha=1.0 / period, adjust=False, min_periods=period)


def true_range(panel: WidePanel) -> Array:
    """max(high, prev close) - min(low, prev close); NaN without high and low."""
    prev = shift(panel.close)
    high = np.fmax(panel.high, prev)
    low = np.fmin(panel.low, prev)
    tr = high - low
    tr[~panel.has("high", "low")] = np.nan
    return tr


def atr_or_proxy(panel: WidePanel, period: int = 14) -> tuple[Array, Array]:
    """ATR (price units) from true ranges, and where a ticker has no high/low, Wilder's
    average of absolute close-to-close moves instead. Returns (atr, proxy used)."""
    atr = wilder(true_range(panel), period)
    proxy = wilder(np.abs(panel.close - shift(panel.close)), period)
    use_proxy = ~np.isfinite(atr) & np.isfinite(proxy)
    return np.where(use_proxy, proxy, atr), use_proxy


def safe_divide(num: Array, den: Array) -> Array:
    """num / den with NaN where den is 0 or missing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[~np.isfinite(out)] = np.nan
    return out
