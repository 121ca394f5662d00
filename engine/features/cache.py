"""Planning the feature cache: which tickers to reuse, extend or rebuild (no I/O here).

A cached block records the SHA-256 of the price rows it was built from. If the rows up to
the block's last date still hash the same, only newer dates are computed, from a tail of
``WARMUP_ROWS`` sessions; otherwise the history was restated and the ticker is rebuilt.
Every finite-window feature is then exact. The EMAs remember their whole history: with
1,000 sessions the weight left on older data is below 5e-5 even for the 200-day EMA, so
appended values match a full recomputation within the warm-up tolerance (1e-5), and the
discrete EMA stack only differs where two averages tie to that precision.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.schema import VALUE_COLUMNS
from engine.features.base import FeatureParams
from engine.features.panel import to_long, to_wide
from engine.features.registry import (
    CACHED_FAMILIES,
    availability_column,
    compute_panel_features,
    feature_columns,
    feature_set_version,
)

WARMUP_ROWS = 1000
BATCH_TICKERS = 40


@dataclass(frozen=True)
class CacheSpec:
    """What the cache holds: the per-ticker families under one parameter set."""

    params: FeatureParams = FeatureParams()

    @property
    def families(self) -> tuple[str, ...]:
        return CACHED_FAMILIES

    @property
    def version(self) -> str:
        return feature_set_version(self.params, self.families)

    @property
    def columns(self) -> list[str]:
        flags = [availability_column(f) for f in self.families]
        return feature_columns(self.families, self.params) + flags

    def params_dict(self) -> dict:
        return dataclasses.asdict(self.params)


@dataclass(frozen=True)
class TickerPlan:
    """``action`` is "reuse", "append" (dates after ``since``) or "build" (everything)."""

    ticker: str
    action: str
    since: pd.Timestamp | None = None


class PriceRows:
    """Prices sorted by (ticker, date) with each ticker's row range: slicing a ticker and
    hashing its rows cost no pandas work per ticker."""

    def __init__(self, prices: pd.DataFrame) -> None:
        self.frame = prices.sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
        self.dates = self.frame["date"].to_numpy(dtype="datetime64[ns]")
        self.values = np.ascontiguousarray(
            self.frame[list(VALUE_COLUMNS)].to_numpy(dtype="float64")
        )
        names = self.frame["ticker"].to_numpy()
        self.ranges: dict[str, tuple[int, int]] = {}
        if len(names):
            starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
            ends = np.r_[starts[1:], len(names)]
            self.ranges = {names[a]: (int(a), int(b)) for a, b in zip(starts, ends, strict=True)}

    def rows(self, ticker: str) -> pd.DataFrame:
        start, stop = self.ranges[ticker]
        return self.frame.iloc[start:stop]

    def _stop(self, ticker: str, through: pd.Timestamp | None) -> int:
        start, stop = self.ranges[ticker]
        if through is None:
            return stop
        return start + int(
            np.searchsorted(self.dates[start:stop], through.to_datetime64(), "right")
        )

    def digest(self, ticker: str, through: pd.Timestamp | None = None) -> str:
        """SHA-256 of the ticker's dates and values (in date order) up to ``through``."""
        start = self.ranges[ticker][0]
        stop = self._stop(ticker, through)
        digest = hashlib.sha256(self.dates[start:stop].tobytes())
        digest.update(self.values[start:stop].tobytes())
        return digest.hexdigest()

    def has_rows_after(self, ticker: str, day: pd.Timestamp) -> bool:
        return self._stop(ticker, day) < self.ranges[ticker][1]


def plan_updates(prices: PriceRows, coverage: pd.DataFrame) -> list[TickerPlan]:
    """One plan per ticker of ``prices`` given the cache ``coverage`` (store.features)."""
    cached = coverage.set_index("ticker") if len(coverage) else None
    plans = []
    for ticker in prices.ranges:
        if cached is None or ticker not in cached.index:
            plans.append(TickerPlan(ticker, "build"))
            continue
        last = pd.Timestamp(cached.at[ticker, "last_date"])
        if prices.digest(ticker, last) != cached.at[ticker, "input_digest"]:
            plans.append(TickerPlan(ticker, "build"))  # history restated or rows removed
        elif prices.has_rows_after(ticker, last):
            plans.append(TickerPlan(ticker, "append", last))
        else:
            plans.append(TickerPlan(ticker, "reuse"))
    return plans


def _input_rows(rows: pd.DataFrame, plan: TickerPlan) -> pd.DataFrame:
    """The rows to compute from: all of them, or the warm-up tail before the new dates."""
    if plan.action == "append":
        first_new = int(
            np.searchsorted(rows["date"].to_numpy(), plan.since.to_datetime64(), "right")
        )
        rows = rows.iloc[max(0, first_new - WARMUP_ROWS) :]
    return rows


def compute_blocks(
    prices: PriceRows,
    plans: Iterable[TickerPlan],
    spec: CacheSpec,
    on_batch: Callable[[dict[str, pd.DataFrame], int], None],
) -> int:
    """Compute the features each plan asks for, ``BATCH_TICKERS`` tickers per panel.

    Calls ``on_batch(blocks, done)`` with ticker -> new feature rows indexed by date (only
    dates after ``since`` for appends). Returns the number of feature rows computed.
    """
    todo = [p for p in plans if p.action != "reuse"]
    computed = 0
    for start in range(0, len(todo), BATCH_TICKERS):
        batch = todo[start : start + BATCH_TICKERS]
        rows = pd.concat([_input_rows(prices.rows(p.ticker), p) for p in batch], ignore_index=True)
        panel = to_wide(rows)
        arrays = compute_panel_features(panel, spec.families, None, spec.params)
        features = to_long(panel, arrays)
        blocks = {}
        for plan in batch:
            block = features.xs(plan.ticker, level="ticker")
            if plan.since is not None:
                block = block[block.index > plan.since]
            blocks[plan.ticker] = block
            computed += len(block)
        on_batch(blocks, start + len(batch))
    return computed
