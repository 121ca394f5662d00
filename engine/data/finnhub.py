"""Finnhub: company news (scored from headlines) and insider transactions. Needs a key.

Endpoints (free tier), each with ``token``:
- ``/company-news?symbol&from&to``: a list of ``{"id", "datetime" (Unix seconds, when it
  was published), "headline", "source", "summary", "url", ...}``. Asked in 30-day windows.
- ``/stock/insider-transactions?symbol&from&to``: ``{"data": [{"name", "share", "change",
  "filingDate", "transactionDate", "transactionCode", "transactionPrice", ...}], "symbol"}``.

Both are point in time: a news item was public at its ``datetime``, an insider
transaction on its ``filingDate`` (the Form 4 filing, not the trade). ``/news-sentiment``
(premium, today's aggregate only) and ``/stock/insider-sentiment`` (a monthly figure with
no publication time) are not used: neither says when its numbers were known.

The sentiment of an item is a deliberately simple, transparent headline score (see
``headline_score``). An empty news answer is an error (Finnhub answers an unknown symbol
with an empty list); an empty insider answer is not (most months have no filings).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping

import pandas as pd

from engine.data.calendar import EXCHANGE_TZ
from engine.data.http import JsonClient, SourceError, require_key

BASE_URL = "https://finnhub.io/api/v1"
KEY_ENV_VAR = "FINNHUB_API_KEY"
SOURCE = "Finnhub"
NEWS_WINDOW_DAYS = 30
NEWS_COLUMNS = ("ticker", "item_id", "published_utc", "public_date", "headline", "source", "score")
INSIDER_COLUMNS = (
    "ticker", "item_id", "filing_date", "transaction_date", "name", "code", "change", "price",
)  # fmt: skip

# A small finance word list in the spirit of Loughran and McDonald (2011).
POSITIVE = frozenset(
    (
        "beat", "beats", "beating", "record", "gain", "gains", "growth", "grows", "improve",
        "improved", "improves", "jump", "jumps", "outperform", "outperforms", "profit",
        "profitable", "rally", "rallies", "rebound", "rise", "rises", "rising", "soar", "soars",
        "strong", "stronger", "surge", "surges", "upgrade", "upgraded", "upgrades", "win", "wins",
    )
)  # fmt: skip
NEGATIVE = frozenset(
    (
        "cut", "cuts", "decline", "declines", "downgrade", "downgraded", "downgrades", "drop",
        "drops", "fall", "falls", "fraud", "investigation", "lawsuit", "loss", "losses", "miss",
        "misses", "plunge", "plunges", "probe", "recall", "slump", "slumps", "tumble", "tumbles",
        "warn", "warning", "warns", "weak", "weaker",
    )
)  # fmt: skip
_WORD = re.compile(r"[a-z]+")


def headline_score(headline: str) -> float:
    """(positive - negative) / (positive + negative) words of the headline, in [-1, 1];
    0 when it has neither."""
    words = _WORD.findall(headline.lower())
    pos = sum(w in POSITIVE for w in words)
    neg = sum(w in NEGATIVE for w in words)
    return 0.0 if pos + neg == 0 else (pos - neg) / (pos + neg)


def public_dates(published_utc: pd.Series) -> pd.Series:
    """The New York calendar date of each UTC timestamp (an item is usable from the next
    session after it)."""
    local = pd.DatetimeIndex(published_utc).tz_convert(EXCHANGE_TZ).tz_localize(None)
    return pd.Series(local.normalize().astype("datetime64[ns]"), index=published_utc.index)


def parse_news(payload: object, ticker: str) -> pd.DataFrame:
    """``/company-news`` items as rows (``NEWS_COLUMNS``); SourceError when malformed."""
    if not isinstance(payload, list):
        raise SourceError(f"{SOURCE}: {ticker} news: the answer is not a list of items")
    try:
        records = [
            (str(i["id"]), int(i["datetime"]), str(i["headline"]), str(i.get("source", "")))
            for i in payload
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(f"{SOURCE}: {ticker} news: an item could not be read ({exc})") from exc
    frame = pd.DataFrame.from_records(records, columns=["item_id", "seconds", "headline", "source"])
    published = pd.to_datetime(frame["seconds"], unit="s", utc=True).astype("datetime64[ns, UTC]")
    return pd.DataFrame(
        {
            "ticker": ticker,
            "item_id": frame["item_id"],
            "published_utc": published,
            "public_date": public_dates(published),
            "headline": frame["headline"],
            "source": frame["source"],
            "score": [headline_score(h) for h in frame["headline"]],
        },
        columns=list(NEWS_COLUMNS),
    )


def _insider_id(row: Mapping) -> str:
    if row.get("id"):
        return str(row["id"])
    key = "|".join(str(row.get(k)) for k in ("name", "filingDate", "transactionDate", "change"))
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def parse_insider(payload: object, ticker: str) -> pd.DataFrame:
    """``/stock/insider-transactions`` rows (``INSIDER_COLUMNS``); SourceError when
    malformed."""
    data = payload.get("data") if isinstance(payload, Mapping) else None
    if not isinstance(data, list):
        raise SourceError(f"{SOURCE}: {ticker} insider transactions: the answer has no data list")
    try:
        records = [
            (
                _insider_id(r),
                pd.Timestamp(r["filingDate"]),
                pd.Timestamp(r["transactionDate"]),
                str(r.get("name", "")),
                str(r.get("transactionCode", "")),
                float(r["change"]),
                float(r.get("transactionPrice") or "nan"),
            )
            for r in data
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise SourceError(
            f"{SOURCE}: {ticker} insider transactions: a row could not be read ({exc})"
        ) from exc
    frame = pd.DataFrame.from_records(records, columns=list(INSIDER_COLUMNS[1:]))
    frame.insert(0, "ticker", ticker)
    return frame.astype({"filing_date": "datetime64[ns]", "transaction_date": "datetime64[ns]"})


class FinnhubClient:
    """News and insider transactions of one ticker at a time. ``http`` is injectable."""

    def __init__(self, key: str, *, http: JsonClient | None = None) -> None:
        self.key = require_key(key, SOURCE, KEY_ENV_VAR)
        self.http = http or JsonClient(SOURCE)

    def _get(self, path: str, ticker: str, start: pd.Timestamp, end: pd.Timestamp, what: str):
        params = {
            "symbol": ticker,
            "from": start.strftime("%Y-%m-%d"),
            "to": end.strftime("%Y-%m-%d"),
            "token": self.key,
        }
        return self.http.get(f"{BASE_URL}{path}", params, what)

    def fetch_news(self, ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Every news item of ``ticker`` published in [start, end] (New York dates)."""
        frames = []
        for lo in pd.date_range(start, end, freq=f"{NEWS_WINDOW_DAYS}D"):
            hi = min(lo + pd.Timedelta(days=NEWS_WINDOW_DAYS - 1), pd.Timestamp(end))
            payload = self._get("/company-news", ticker, lo, hi, f"{ticker} news")
            frames.append(parse_news(payload, ticker))
        news = pd.concat(frames, ignore_index=True).drop_duplicates("item_id")
        if news.empty:
            raise SourceError(
                f"{SOURCE}: {ticker} news: no items from {start:%Y-%m-%d} to {end:%Y-%m-%d} "
                "(unknown symbol, or not covered by Finnhub)"
            )
        return news.reset_index(drop=True)

    def fetch_insider(self, ticker: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Insider transactions of ``ticker`` filed in [start, end]."""
        what = f"{ticker} insider transactions"
        payload = self._get("/stock/insider-transactions", ticker, start, end, what)
        return parse_insider(payload, ticker)
