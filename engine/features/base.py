"""What every family shares: column specs, parameters and the long-frame wrapper."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engine.data.universe import FACTOR_ETFS, INDEX_TICKER, VIX_TICKER
from engine.features.panel import Array, WidePanel, to_long, to_wide

if TYPE_CHECKING:
    from engine.features.context import MarketContext

# Inputs a column can need besides the ticker's own OHLCV fields: market series, macro
# series (engine.features.macro.SERIES_INPUTS) and the ticker's news and insider filings.
CONTEXT_INPUTS = (
    "index", "vix", "breadth", "factors", "dgs10", "dgs2", "dollar", "vixcls", "btc", "news",
    "insider",
)  # fmt: skip


@dataclass(frozen=True)
class ColumnSpec:
    """One feature column: its name, the inputs it needs and what it means."""

    name: str
    needs: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class FeatureParams:
    """Parameters that change feature values; part of the feature-set version.

    Window lengths live in the family modules (whose source is hashed into the version).
    """

    index_ticker: str = INDEX_TICKER
    vix_ticker: str = VIX_TICKER
    factor_tickers: tuple[str, ...] = FACTOR_ETFS
    large_volume_percentile: float = 0.90
    breakout_volume_multiple: float = 1.5
    vix_low: float = 15.0
    vix_high: float = 25.0
    # The realized-volatility proxy (annualized %, 20 days) runs a few points below VIX.
    proxy_low: float = 11.0
    proxy_high: float = 20.0
    breadth_min_names: int = 5
    smi_accumulation: float = 60.0
    smi_distribution: float = 40.0


# (panel, market context or None, parameters) -> column name -> (T, N) array. Context
# families read their parameters from the context; the others from ``params``.
ArraysFn = Callable[[WidePanel, "MarketContext | None", FeatureParams], dict[str, Array]]


def check_columns(arrays: dict[str, Array], columns: tuple[ColumnSpec, ...], family: str) -> None:
    """A family must return exactly the columns its registry entry promises."""
    expected = [c.name for c in columns]
    if list(arrays) != expected:
        raise RuntimeError(f"family {family!r} returned {list(arrays)}, registry says {expected}")


def run_family(
    arrays_fn: ArraysFn,
    columns: tuple[ColumnSpec, ...],
    prices: pd.DataFrame,
    context: MarketContext | None,
) -> pd.DataFrame:
    """Compute one family on a long price frame; result indexed by (ticker, date)."""
    panel = to_wide(prices)
    arrays = arrays_fn(panel, context, context.params if context else FeatureParams())
    check_columns(arrays, columns, arrays_fn.__name__)
    return to_long(panel, arrays)


def broadcast(panel: WidePanel, column: Array) -> Array:
    """A ``(T, 1)`` per-date column repeated for every ticker, as a fresh array."""
    return np.repeat(column, len(panel.tickers), axis=1)
