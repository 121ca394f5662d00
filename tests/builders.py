"""Small frames that several test modules build."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

from engine import workflows
from engine.bench.pages import BENCH_TRAIN
from engine.data.calendar import is_session
from engine.data.finnhub import NEWS_COLUMNS, public_dates
from engine.data.fred import known_dates
from engine.data.macro import BTC_SERIES, FRED_SERIES, MACRO_COLUMNS
from engine.features import FeatureParams, SentimentInputs

# Synthetic names stand in for the market series so every family has inputs.
MARKET_PARAMS = FeatureParams(
    index_ticker="SYN0000", vix_ticker="SYN0001", factor_tickers=("SYN0002", "SYN0003")
)


# A model that trains in seconds on the sample store (six large caps, 2014 to mid-2018),
# the one the pages benchmark trains too.
SMALL_TRAIN = BENCH_TRAIN


def bars(
    rows: list[tuple[float, ...]], start: str = "2022-01-03", ticker: str = "T"
) -> pd.DataFrame:
    """A one-ticker frame of (open, high, low, close, volume) rows on consecutive sessions."""
    dates = pd.bdate_range(start, periods=len(rows) + 40)
    sessions = dates[is_session(dates)][: len(rows)]
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"])
    frame = frame.assign(ticker=ticker, date=sessions.astype("datetime64[ns]"))
    return frame[["ticker", "date", "open", "high", "low", "close", "volume"]]


class ArmedPickle:
    """Unpickling this creates ``marker``: what a crafted pickle could do instead (run a
    command). Tests dump it into old-format bundles to show it is never loaded."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder``."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def store_digest(path: Path) -> str:
    """SHA-256 of a closed store's file (a WAL file must not be left behind)."""
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@contextmanager
def unchanged(db: Path) -> Iterator[None]:
    """Assert that the block leaves the store and every artifact byte-identical."""
    artifacts = workflows.artifacts_root()
    before = store_digest(db), tree_digest(artifacts)
    yield
    assert (store_digest(db), tree_digest(artifacts)) == before, "something stored changed"


def synthetic_macro(first: pd.Timestamp, last: pd.Timestamp, seed: int) -> pd.DataFrame:
    """Random-walk macro rows (``MACRO_COLUMNS``) from ``first`` - 60 days to ``last``: FRED
    series on business days with a few "." (NaN) and revisions, BTC-USD every day."""
    rng = np.random.default_rng(seed)
    frames = []
    for k, series in enumerate((*FRED_SERIES, BTC_SERIES)):
        freq = "D" if series is BTC_SERIES else "B"
        dates = pd.Series(pd.date_range(first - pd.Timedelta(days=60), last, freq=freq))
        level = (20.0 + 30 * k) * np.exp(np.cumsum(rng.normal(0, 0.01, len(dates))))
        level[rng.random(len(dates)) < 0.03] = np.nan
        frame = pd.DataFrame(
            {
                "series_id": series.series_id,
                "date": dates.astype("datetime64[ns]"),
                "value": level,
                "known_date": known_dates(dates, series.lag_days),
                "realtime_start": pd.NaT,
                "source": "synthetic",
            }
        )
        revised = frame.sample(frac=0.02, random_state=seed + k)
        revised = revised.assign(
            value=revised["value"] * 1.01, known_date=revised["known_date"] + pd.Timedelta(days=3)
        )
        frames += [frame, revised]
    rows = pd.concat(frames, ignore_index=True)[list(MACRO_COLUMNS)]
    return rows.astype({"realtime_start": "datetime64[ns]"})


def synthetic_sentiment(
    tickers: tuple[str, ...], first: pd.Timestamp, last: pd.Timestamp, seed: int
) -> SentimentInputs:
    """About one scored news item per ticker and day at random times, an open-market or
    other insider filing every ~5 days, and one fetched range from ``first`` - 60 days."""
    rng = np.random.default_rng(seed)
    lo = first - pd.Timedelta(days=60)
    seconds = int((last + pd.Timedelta(days=1) - lo).total_seconds())
    news, insider = [], []
    for ticker in tickers:
        n = (last - lo).days
        published = pd.Series(
            pd.to_datetime(lo.value + rng.integers(0, seconds, n) * 10**9, utc=True).astype(
                "datetime64[ns, UTC]"
            )
        )
        news.append(
            pd.DataFrame(
                {
                    "ticker": ticker,
                    "item_id": [f"{ticker}-{i}" for i in range(n)],
                    "published_utc": published,
                    "public_date": public_dates(published),
                    "headline": "",
                    "source": "synthetic",
                    "score": rng.choice([-1.0, -0.5, 0.0, 0.5, 1.0], n),
                }
            )
        )
        filed = pd.Series(pd.date_range(lo, last, freq="5D"))
        insider.append(
            pd.DataFrame(
                {
                    "ticker": ticker,
                    "item_id": [f"{ticker}-f{i}" for i in range(len(filed))],
                    "filing_date": filed,
                    "transaction_date": filed - pd.Timedelta(days=2),
                    "name": "insider",
                    "code": rng.choice(["P", "S", "F"], len(filed)),
                    "change": rng.normal(0, 1000, len(filed)),
                    "price": 100.0,
                }
            )
        )
    coverage = pd.DataFrame(
        [(t, kind, lo, last) for t in tickers for kind in ("news", "insider")],
        columns=["ticker", "kind", "first_date", "last_date"],
    )
    return SentimentInputs(
        pd.concat(news, ignore_index=True)[list(NEWS_COLUMNS)],
        pd.concat(insider, ignore_index=True),
        coverage,
    )


def known_by(
    macro: pd.DataFrame, items: SentimentInputs, day: pd.Timestamp
) -> tuple[pd.DataFrame, SentimentInputs]:
    """What the store would return as of ``day`` (the repositories' SQL filters)."""
    coverage = items.coverage[items.coverage["first_date"] <= day]
    return macro[macro["known_date"] <= day], SentimentInputs(
        items.news[items.news["public_date"] <= day],
        items.insider[items.insider["filing_date"] <= day],
        coverage.assign(last_date=coverage["last_date"].clip(upper=day)),
    )


class Sources(HTMLParser):
    """The tags of an HTML page and the remote sources (src / href) its elements load."""

    def __init__(self) -> None:
        super().__init__()
        self.external, self.tags = [], []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if (
                name in ("src", "href")
                and value
                and value.lower().startswith(("http:", "https:", "//"))
            ):
                self.external.append((tag, value))


def html_sources(page: str) -> Sources:
    """``page`` parsed: its ``tags`` and ``external`` sources (a script's own string
    literals, such as plotly.js's map-tile URLs, are not elements and do not count)."""
    parser = Sources()
    parser.feed(page)
    parser.close()
    return parser


def toml_table(name: str, table: dict) -> str:
    """``table`` as the TOML table ``[name]`` (text, numbers, booleans, lists of them: their
    JSON spelling is valid TOML)."""
    return f"[{name}]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items())
