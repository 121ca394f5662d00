"""Small frames that several test modules build."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from engine import workflows
from engine.bench.pages import BENCH_TRAIN
from engine.data.calendar import is_session
from engine.features import FeatureParams

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
