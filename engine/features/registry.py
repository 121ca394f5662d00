"""The families, their columns, availability flags, and the feature-set version.

Models and the ablation study switch families on and off by name; every column belongs to
exactly one family. ``avail_<family>`` columns are flags, not features: the share (0-1) of
the family's columns whose inputs exist at that row, so a close-only ticker reads 0 for
flow instead of silently carrying zeros.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.macro import empty_macro
from engine.features import (
    cross_asset,
    flow,
    macro,
    microstructure,
    path,
    patterns,
    regime,
    sentiment,
    technical,
)
from engine.features.base import ArraysFn, ColumnSpec, FeatureParams, check_columns
from engine.features.context import (
    MarketContext,
    SentimentInputs,
    build_context,
    compute_volatility_gauge,
)
from engine.features.panel import Array, WidePanel, by_date, to_long, to_wide


@dataclass(frozen=True)
class Family:
    """A signal family: its columns (a function of the parameters) and how to compute them.

    ``per_ticker`` families read only the ticker's own rows, so they can be cached per
    ticker; the others read the market context and are computed fresh. An ``optional``
    family is asked for by name only (not in ``DEFAULT_FAMILIES``, not cached): computed
    fresh when a model or page asks for it.
    """

    name: str
    title: str
    columns: Callable[[FeatureParams], tuple[ColumnSpec, ...]]
    arrays: ArraysFn
    per_ticker: bool
    optional: bool = False


FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("technical", "Technical", technical.columns, technical.technical_arrays, True),
        Family("flow", "Institutional flow", flow.columns, flow.flow_arrays, True),
        Family(
            "microstructure",
            "Microstructure",
            microstructure.columns,
            microstructure.microstructure_arrays,
            True,
        ),
        Family(
            "cross_asset", "Cross-asset", cross_asset.columns, cross_asset.cross_asset_arrays, False
        ),
        Family("patterns", "Patterns", patterns.columns, patterns.patterns_arrays, True),
        Family("regime", "Regime", regime.columns, regime.regime_arrays, False),
        Family("sentiment", "Sentiment", sentiment.columns, sentiment.sentiment_arrays, False),
        Family("path", "Price path (window)", path.columns, path.path_arrays, True, True),
    )
}
FAMILY_NAMES = tuple(FAMILIES)
DEFAULT_FAMILIES = tuple(n for n, f in FAMILIES.items() if not f.optional)
# what the feature cache holds: the per-ticker families every default model reads
CACHED_FAMILIES = tuple(n for n, f in FAMILIES.items() if f.per_ticker and not f.optional)
CONTEXT_FAMILIES = tuple(n for n, f in FAMILIES.items() if not f.per_ticker)
AVAILABILITY_PREFIX = "avail_"


def resolve_families(families: Iterable[str] | None) -> tuple[str, ...]:
    """The requested family names in registry order (``None``: the default ones); unknown
    names are an error."""
    if families is None:
        return DEFAULT_FAMILIES
    wanted = list(families)
    unknown = sorted(set(wanted) - set(FAMILIES))
    if unknown:
        raise ValueError(f"unknown feature families {unknown}; known: {list(FAMILY_NAMES)}")
    return tuple(n for n in FAMILY_NAMES if n in wanted)


def family_columns(family: str, params: FeatureParams | None = None) -> tuple[ColumnSpec, ...]:
    return FAMILIES[family].columns(params or FeatureParams())


def feature_columns(
    families: Iterable[str] | None = None, params: FeatureParams | None = None
) -> list[str]:
    """Model-ready column names of ``families`` (availability flags excluded)."""
    return [c.name for f in resolve_families(families) for c in family_columns(f, params)]


def availability_column(family: str) -> str:
    return f"{AVAILABILITY_PREFIX}{family}"


def column_specs(params: FeatureParams | None = None) -> dict[str, tuple[str, ColumnSpec]]:
    """Column name -> (family, spec), for every column of every family."""
    return {c.name: (f, c) for f in FAMILY_NAMES for c in family_columns(f, params)}


def _context_presence(panel: WidePanel, context: MarketContext | None) -> dict[str, Array]:
    """Per-date ``(T, 1)`` presence of each market input, ``(T, N)`` of news and insider
    coverage."""
    empty = pd.Series(dtype=float)
    macro_rows, items = empty_macro(), SentimentInputs()
    if context is None:
        series = dict.fromkeys(("index", "vix", "breadth", "factors"), empty)
    else:
        macro_rows, items = context.macro, context.sentiment
        series = {
            "index": empty if context.index is None else context.index["close"],
            "vix": compute_volatility_gauge(context)["level"],
            "breadth": context.breadth,
            "factors": context.factors.mean(axis=1) if len(context.factors.columns) else empty,
        }
    presence = {name: np.isfinite(by_date(panel, values)) for name, values in series.items()}
    return (
        presence
        | macro.macro_presence(panel, macro_rows)
        | sentiment.sentiment_presence(panel, items)
    )


def availability_arrays(
    panel: WidePanel, families: Iterable[str], context: MarketContext | None, params: FeatureParams
) -> dict[str, Array]:
    """``avail_<family>``: share of the family's columns whose inputs exist at each row."""
    presence = _context_presence(panel, context)
    cache_has: dict[tuple[str, ...], Array] = {}
    out = {}
    for family in families:
        specs = family_columns(family, params)
        total = np.zeros(panel.close.shape)
        for spec in specs:
            if spec.needs not in cache_has:
                has = np.ones(panel.close.shape, dtype=bool)
                for need in spec.needs:
                    has = has & (presence[need] if need in presence else panel.has(need))
                cache_has[spec.needs] = has
            total += cache_has[spec.needs]
        out[availability_column(family)] = total / len(specs)
    return out


def compute_panel_features(
    panel: WidePanel,
    families: Iterable[str] | None = None,
    context: MarketContext | None = None,
    params: FeatureParams | None = None,
) -> dict[str, Array]:
    """All requested families on a wide panel, plus their availability flags."""
    params = context.params if context is not None else (params or FeatureParams())
    names = resolve_families(families)
    if context is None and any(not FAMILIES[n].per_ticker for n in names):
        raise ValueError(f"families {list(CONTEXT_FAMILIES)} need a market context")
    arrays: dict[str, Array] = {}
    for name in names:
        family_arrays = FAMILIES[name].arrays(panel, context, params)
        check_columns(family_arrays, family_columns(name, params), name)
        arrays.update(family_arrays)
    arrays.update(availability_arrays(panel, names, context, params))
    return arrays


def compute_features(
    prices: pd.DataFrame,
    *,
    context: MarketContext | None = None,
    families: Iterable[str] | None = None,
    params: FeatureParams | None = None,
) -> pd.DataFrame:
    """Features of ``families`` (default all) by (ticker, date), then ``avail_*`` flags.

    The row at (ticker, t) uses price rows dated <= t only (cross-asset: <= t-1). When a
    context family is requested and no context is given, it is built from ``prices``.
    """
    names = resolve_families(families)
    if context is None and any(not FAMILIES[n].per_ticker for n in names):
        context = build_context(prices, params)
    panel = to_wide(prices)
    return to_long(panel, compute_panel_features(panel, names, context, params))


@cache
def _source_digest() -> str:
    digest = hashlib.sha256()
    for module in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(module.name.encode())
        digest.update(module.read_bytes())
    return digest.hexdigest()


def feature_set_version(
    params: FeatureParams | None = None, families: Iterable[str] | None = None
) -> str:
    """16 hex digits naming the feature code, its parameters and the families chosen.

    Any edit to a module of ``engine.features`` changes it, so a cache never serves values
    computed by older code.
    """
    payload = {
        "code": _source_digest(),
        "params": dataclasses.asdict(params or FeatureParams()),
        "families": list(resolve_families(families)),
        "ifi_variant": flow.IFI_VARIANT,
    }
    blob = json.dumps(payload, sort_keys=True, default=list).encode()
    return hashlib.sha256(blob).hexdigest()[:16]
