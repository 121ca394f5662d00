"""Small frames that several test modules build."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from engine.data.calendar import is_session
from engine.features import FeatureParams
from engine.modeling.learner import LearnerParams
from engine.modeling.training import TrainConfig

# Synthetic names stand in for the market series so every family has inputs.
MARKET_PARAMS = FeatureParams(
    index_ticker="SYN0000", vix_ticker="SYN0001", factor_tickers=("SYN0002", "SYN0003")
)


# A model that trains in seconds on the sample store (six large caps, 2014 to mid-2018).
SMALL_TRAIN = TrainConfig(
    tickers=("AAPL", "JPM", "KO", "XOM", "MSFT", "PG"),
    start=pd.Timestamp("2014-01-01"),
    as_of=pd.Timestamp("2018-06-29"),
    train_months=12,
    test_months=6,
    n_boot=50,
    learner=LearnerParams(n_estimators=200),
)


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
