"""Live daily prices from Yahoo Finance through yfinance (needs internet; tests mock it).

``yfinance.download`` swallows per-ticker errors (a rate limit included) into log lines
and an empty frame, so each ticker is downloaded on its own while the ``yfinance``
logger is captured: an empty frame with a rate-limit or timeout message is retried with
bounded exponential backoff and jitter, anything else is reported for that ticker.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from engine.data.http import backoff_delay
from engine.data.schema import (
    FetchResult,
    Progress,
    apply_adjusted_close,
    empty_prices,
    to_normalized,
)

TZ_CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "yfinance"
_FIELDS = {
    "open": "open",
    "high": "high",
    "low": "low",
    "close": "close",
    "adj close": "adj_close",
    "volume": "volume",
}
_TRANSIENT = re.compile(r"RateLimit|Too Many Requests|Timeout|timed out", re.IGNORECASE)


class YahooFormatError(ValueError):
    """A yfinance frame whose columns cannot be read as prices."""


def normalize_yf_frame(raw: pd.DataFrame, ticker: str) -> pd.DataFrame:
    """Turn any shape yfinance returns for one ticker into normalized rows.

    Handles flat columns and MultiIndex columns in either level order (Price, Ticker or
    Ticker, Price), with or without "Adj Close", with a tz-aware or naive index. When
    "Adj Close" is present, open/high/low are scaled by Adj Close / Close and close
    becomes Adj Close (what yfinance's auto_adjust does; volume is left as is), so every
    shape yields the same split- and dividend-adjusted frame.
    """
    frame = raw
    if isinstance(frame.columns, pd.MultiIndex):
        field_level = next(
            (
                i
                for i in range(frame.columns.nlevels)
                if {str(v).lower() for v in frame.columns.get_level_values(i)} & {"close"}
            ),
            None,
        )
        if field_level is None:
            raise YahooFormatError(f"{ticker}: no 'Close' column level in the yfinance frame")
        other = 1 - field_level
        symbols = set(frame.columns.get_level_values(other))
        if ticker not in symbols:
            raise YahooFormatError(f"{ticker}: not among the frame's tickers {sorted(symbols)}")
        frame = frame.xs(ticker, axis=1, level=other)
    columns = {c: _FIELDS[str(c).lower()] for c in frame.columns if str(c).lower() in _FIELDS}
    frame = frame[list(columns)].rename(columns=columns)
    if "close" not in frame.columns:
        raise YahooFormatError(f"{ticker}: the yfinance frame has no Close column")
    if "adj_close" in frame.columns:
        frame = apply_adjusted_close(frame)
    index = pd.DatetimeIndex(frame.index)
    if index.tz is not None:
        index = index.tz_localize(None)  # keep the exchange's wall-clock session date
    long = frame.set_axis(index.rename("date")).reset_index().assign(ticker=ticker)
    long = to_normalized(long)
    return long.dropna(how="all", subset=["open", "high", "low", "close", "volume"])


@contextmanager
def _captured_yf_errors() -> Iterator[list[str]]:
    """Collect the error messages the ``yfinance`` logger emits inside the block."""
    messages: list[str] = []

    class _Collector(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("yfinance")
    handler = _Collector(level=logging.ERROR)
    logger.addHandler(handler)
    try:
        yield messages
    finally:
        logger.removeHandler(handler)


def _configured_download() -> Callable[..., pd.DataFrame | None]:
    """yfinance.download with its timezone cache kept inside the project."""
    import yfinance as yf  # noqa: PLC0415 (a second of start-up, for a live refresh only)

    TZ_CACHE_DIR.mkdir(parents=True, exist_ok=True)
    yf.set_tz_cache_location(str(TZ_CACHE_DIR))
    return yf.download


class YFinanceProvider:
    """Live provider. ``download`` and ``sleep`` are injectable for tests."""

    name = "yfinance"
    adjusted = True

    def __init__(
        self,
        *,
        download: Callable[..., pd.DataFrame | None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_attempts: int = 5,
        base_delay_s: float = 1.0,
        max_delay_s: float = 30.0,
        timeout_s: float = 15.0,
        seed: int | None = None,
    ) -> None:
        self.download = download or _configured_download()
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.timeout_s = timeout_s
        self.random = random.Random(seed)

    def backoff_delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt ``attempt`` (0-based)."""
        return backoff_delay(attempt, self.base_delay_s, self.max_delay_s, self.random)

    def fetch_one(
        self, ticker: str, start: pd.Timestamp | None, end: pd.Timestamp | None
    ) -> tuple[pd.DataFrame, str | None]:
        """Rows for one ticker and None, or an empty frame and the reason."""
        # yfinance's end is exclusive, ours inclusive; with no start it would fetch only
        # one month, so ask for the whole history.
        end_arg = None if end is None else (pd.Timestamp(end) + pd.Timedelta(days=1)).date()
        start_arg = None if start is None else pd.Timestamp(start).date()
        last_reason = ""
        for attempt in range(self.max_attempts):
            with _captured_yf_errors() as messages:
                try:
                    raw = self.download(
                        ticker,
                        start=start_arg,
                        end=end_arg,
                        auto_adjust=True,
                        period="max" if start_arg is None else None,
                        multi_level_index=True,
                        progress=False,
                        threads=False,
                        timeout=self.timeout_s,
                    )
                except Exception as exc:  # noqa: BLE001 - classified just below
                    raw = None
                    messages.append(f"{type(exc).__name__}: {exc}")
            if raw is not None and not raw.empty:
                rows = normalize_yf_frame(raw, ticker)
                if not rows.empty:
                    return rows, None
            last_reason = "; ".join(messages) or "no rows returned (delisted or wrong symbol?)"
            if not _TRANSIENT.search(last_reason):
                return empty_prices(), f"{ticker}: {last_reason}"
            if attempt + 1 < self.max_attempts:
                self.sleep(self.backoff_delay(attempt))
        return empty_prices(), (
            f"{ticker}: Yahoo kept refusing ({last_reason}) after {self.max_attempts} "
            "attempts with backoff; try again in a few minutes"
        )

    def fetch(
        self,
        tickers: Sequence[str],
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
        progress: Progress | None = None,
    ) -> FetchResult:
        """Download each ticker in turn, reporting progress per ticker."""
        frames, errors = [], {}
        for i, ticker in enumerate(tickers):
            rows, error = self.fetch_one(ticker, start, end)
            if error:
                errors[ticker] = error
            else:
                frames.append(rows)
            if progress:
                done = error or f"{ticker}: {len(rows)} rows"
                progress((i + 1) / len(tickers), done)
        prices = pd.concat(frames, ignore_index=True) if frames else empty_prices()
        return FetchResult(self.name, to_normalized(prices), self.adjusted, errors)
