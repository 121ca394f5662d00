"""The one normalized price schema every provider returns, and ticker validation.

A normalized price frame is long: one row per (ticker, date) with the columns
``PRICE_COLUMNS``. ``date`` is a timezone-naive ``datetime64[ns]`` at midnight (the
session date), prices and volume are float64, and a column a source does not have is
NaN, never invented.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("ticker", "date", "open", "high", "low", "close", "volume")
VALUE_COLUMNS = ("open", "high", "low", "close", "volume")
OHLC_COLUMNS = ("open", "high", "low", "close")

# Yahoo-style symbols: BRK-B, ^GSPC, EURUSD=X, RDS.A. Nothing that a shell, a path or
# SQL would treat specially.
_TICKER_RE = re.compile(r"^[A-Z0-9^][A-Z0-9.\-=^]{0,19}$")

Progress = Callable[[float, str], None]


def scaled_progress(
    progress: Progress | None, start: float, end: float, prefix: str = ""
) -> Progress | None:
    """``progress`` for a stage that spans [start, end] of the whole task: the stage's
    fraction 0..1 maps onto that range and its text gets ``prefix``. None stays None."""
    if progress is None:
        return None
    return lambda fraction, text: progress(start + (end - start) * fraction, prefix + text)


class InvalidTickerError(ValueError):
    """A ticker symbol that is not a plain exchange symbol."""


def normalize_ticker(raw: str) -> str:
    """Return ``raw`` stripped and upper-cased, or raise InvalidTickerError naming it.

    Allowed: 1-20 characters of A-Z, 0-9 and ``. - = ^``, starting with a letter, a
    digit or ``^``.
    """
    if not isinstance(raw, str):
        raise InvalidTickerError(f"Ticker must be text, got {type(raw).__name__}")
    ticker = raw.strip().upper()
    if not _TICKER_RE.fullmatch(ticker):
        shown = raw if len(raw) <= 40 else raw[:40] + "..."
        raise InvalidTickerError(
            f"Invalid ticker {shown!r}: use 1-20 characters of A-Z, 0-9, '.', '-', '=', '^'"
        )
    return ticker


def normalize_tickers(raw: Iterable[str]) -> list[str]:
    """Validate and de-duplicate tickers, keeping their order; raise on the first bad one."""
    seen: dict[str, None] = {}
    for item in raw:
        seen.setdefault(normalize_ticker(item), None)
    return list(seen)


def parse_tickers(text: str) -> list[str]:
    """Tickers typed as one string, separated by commas, spaces or new lines; validated."""
    return normalize_tickers(text.replace(",", " ").split())


def empty_prices() -> pd.DataFrame:
    """A normalized price frame with no rows."""
    return to_normalized(pd.DataFrame(columns=list(PRICE_COLUMNS)))


def to_normalized(frame: pd.DataFrame) -> pd.DataFrame:
    """Coerce a frame that has the schema's columns (missing value columns allowed) to it.

    Missing value columns become NaN. Dates lose any timezone and time of day (the
    session date is kept as it reads in the exchange's zone). Rows are sorted by
    ticker then date; the index is a fresh RangeIndex.
    """
    out = frame.copy()
    for column in VALUE_COLUMNS:
        if column not in out.columns:
            out[column] = np.nan
    dates = pd.to_datetime(out["date"])
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)
    out["date"] = dates.dt.normalize().astype("datetime64[ns]")
    out["ticker"] = out["ticker"].astype(str)
    for column in VALUE_COLUMNS:
        out[column] = pd.to_numeric(out[column], errors="raise").astype("float64")
    out = out[list(PRICE_COLUMNS)].rename_axis(columns=None)
    out = out.sort_values(["ticker", "date"], kind="stable")
    return out.reset_index(drop=True)


def apply_adjusted_close(frame: pd.DataFrame) -> pd.DataFrame:
    """Adjust a frame that has ``close`` and ``adj_close``: what yfinance's auto_adjust does.

    open/high/low are scaled by adj_close / close, close becomes adj_close and adj_close
    is dropped; volume is left as is. A row missing either close gets NaN prices.
    """
    ratio = frame["adj_close"] / frame["close"]
    scaled = {c: frame[c] * ratio for c in ("open", "high", "low") if c in frame.columns}
    return frame.assign(**scaled, close=frame["adj_close"]).drop(columns="adj_close")


@dataclass(frozen=True)
class FetchResult:
    """What a provider returns for one request.

    Attributes
    ----------
    source : str
        Provider name ("sample", "yfinance", "csv", "synthetic").
    prices : pd.DataFrame
        Normalized long frame, shape (n_rows, 7), columns ``PRICE_COLUMNS``.
    adjusted : bool
        True when prices are split- and dividend-adjusted.
    errors : Mapping[str, str]
        Ticker -> why nothing came back for it.
    """

    source: str
    prices: pd.DataFrame
    adjusted: bool
    errors: Mapping[str, str] = field(default_factory=dict)
