"""Features through the store: the per-ticker cache, the market context, the regime."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass

import pandas as pd

from engine.data.schema import Progress
from engine.features import FeatureParams, build_context, compute_regime_history
from engine.features.cache import CacheSpec, PriceRows, compute_blocks, plan_updates
from engine.features.context import MarketContext
from engine.features.panel import to_long, to_wide
from engine.features.registry import (
    CONTEXT_FAMILIES,
    availability_column,
    compute_panel_features,
    feature_columns,
    resolve_families,
)
from engine.workflows.data import DbPath, load_prices
from store.db import open_db, write_transaction
from store.features import FeatureRepository
from store.prices import PriceRepository
from store.watchlists import WatchlistError as WatchlistError  # raised to pages


@dataclass(frozen=True)
class FeatureBuildResult:
    """What ``build_features`` did: tickers built in full, extended, or reused as cached."""

    version: str
    built: tuple[str, ...]
    appended: tuple[str, ...]
    reused: tuple[str, ...]
    rows_computed: int


def _build_features(db, prices: pd.DataFrame, progress: Progress | None) -> FeatureBuildResult:
    """Bring the cache up to date for the tickers of ``prices`` (their stored rows)."""
    spec = CacheSpec()
    repo = FeatureRepository(db)
    repo.register(spec.version, spec.params_dict(), spec.columns)
    price_rows = PriceRows(prices)
    plans = plan_updates(price_rows, repo.coverage(spec.version))
    todo = sum(p.action != "reuse" for p in plans)

    def save(blocks: dict[str, pd.DataFrame], done: int) -> None:
        appended = [p.ticker for p in plans if p.action == "append" and p.ticker in blocks]
        previous = repo.load(spec.version, appended)
        with write_transaction(db):  # a batch of tickers is stored whole or not at all
            for ticker, new_rows in blocks.items():
                block = pd.concat([previous[ticker], new_rows]) if ticker in previous else new_rows
                if block.empty:
                    continue
                digest = price_rows.digest(ticker, block.index.max())
                repo.save_block(spec.version, ticker, block, digest)
        if progress:
            progress(done / todo, f"Computed features for {done} of {todo} tickers")

    computed = compute_blocks(price_rows, plans, spec, save)
    by_action = {
        a: tuple(p.ticker for p in plans if p.action == a) for a in ("build", "append", "reuse")
    }
    return FeatureBuildResult(
        spec.version, by_action["build"], by_action["append"], by_action["reuse"], computed
    )


def build_features(
    db_path: DbPath, tickers: Sequence[str] | None = None, progress: Progress | None = None
) -> FeatureBuildResult:
    """Compute and cache the per-ticker families for ``tickers`` (all stored when None).

    Only tickers or dates not yet cached are computed; a ticker whose stored history
    changed is rebuilt. Each batch of tickers is written in one transaction.
    """
    with closing(open_db(db_path)) as db:
        return _build_features(db, PriceRepository(db).load(tickers), progress)


def load_market_context(db_path: DbPath, params: FeatureParams | None = None) -> MarketContext:
    """Index, VIX, factor ETFs and breadth over every stored stock (not indices or factors)."""
    return build_context(load_prices(db_path), params)


def load_regime_history(db_path: DbPath) -> pd.DataFrame:
    """The 12-state regime by date from the stored market data (see compute_regime_history)."""
    return compute_regime_history(load_market_context(db_path))


def load_features(
    db_path: DbPath,
    tickers: Sequence[str],
    families: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Features of ``families`` by (ticker, date), as ``compute_features`` returns them.

    Per-ticker families come from the cache (built first where missing); cross-asset and
    regime columns are computed fresh from the stored market context.
    """
    names = resolve_families(families)
    with closing(open_db(db_path)) as db:
        everything = PriceRepository(db).load()  # the market context needs every ticker
        prices = everything[everything["ticker"].isin(list(tickers))]
        _build_features(db, prices, progress)
        frame = FeatureRepository(db).load_frame(CacheSpec().version, list(tickers))
    ordered = feature_columns(names) + [availability_column(n) for n in names]
    if frame.empty:
        return pd.DataFrame(columns=ordered)
    context_names = [n for n in names if n in CONTEXT_FAMILIES]
    if context_names:
        panel = to_wide(prices)
        context = build_context(everything)
        frame = frame.join(to_long(panel, compute_panel_features(panel, context_names, context)))
    return frame[ordered]
