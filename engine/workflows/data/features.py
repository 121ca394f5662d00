"""The per-ticker feature cache through the store (engine.workflows.data.snapshot reads it)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass

import pandas as pd

from engine.data.schema import Progress
from engine.features.cache import CacheSpec, PriceRows, compute_blocks, plan_updates
from engine.workflows.data.prices import DbPath
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


def update_feature_cache(
    db, tickers: Sequence[str] | None, progress: Progress | None = None
) -> FeatureBuildResult:
    """Bring the cache up to date for ``tickers`` (all stored when None) from their stored
    rows, inside the caller's store session.

    A ticker none of whose rows was written since its block was built (same row count,
    newest date and newest ingestion id) is reused without reading its rows; the others are
    read and planned by the hash of their rows (``plan_updates``).
    """
    spec = CacheSpec()
    repo = FeatureRepository(db)
    repo.register(spec.version, spec.params_dict(), spec.columns)
    prices_repo = PriceRepository(db)
    versions = prices_repo.versions(tickers)
    coverage = repo.coverage(spec.version)
    recorded = dict(zip(coverage["ticker"], coverage["input_version"], strict=True))
    fresh = tuple(t for t, v in versions.items() if recorded.get(t) == v)
    stale = sorted(set(versions) - set(fresh))
    price_rows = PriceRows(prices_repo.load(stale))  # no query at all when none is stale
    plans = plan_updates(price_rows, coverage)
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
                repo.save_block(spec.version, ticker, block, digest, versions[ticker])
        if progress:
            progress(done / todo, f"Computed features for {done} of {todo} tickers")

    computed = compute_blocks(price_rows, plans, spec, save)
    by_action = {
        a: tuple(p.ticker for p in plans if p.action == a) for a in ("build", "append", "reuse")
    }
    unchanged = by_action["reuse"]
    if unchanged:  # hashed equal: remember their rows' version so they are not read again
        with write_transaction(db):
            for ticker in unchanged:
                repo.set_input_version(spec.version, ticker, versions[ticker])
    return FeatureBuildResult(
        spec.version, by_action["build"], by_action["append"], fresh + unchanged, computed
    )


def build_features(
    db_path: DbPath, tickers: Sequence[str] | None = None, progress: Progress | None = None
) -> FeatureBuildResult:
    """Compute and cache the per-ticker families for ``tickers`` (all stored when None).

    Only tickers or dates not yet cached are computed; a ticker whose stored history
    changed is rebuilt. Each batch of tickers is written in one transaction.
    """
    with closing(open_db(db_path)) as db:
        return update_feature_cache(db, tickers, progress)


def load_cached_features(db_path: DbPath, tickers: Sequence[str] | None = None) -> pd.DataFrame:
    """The cached per-ticker families as stored (all dates; no context columns), by
    (ticker, date): a plain read, nothing is built."""
    with closing(open_db(db_path)) as db:
        return FeatureRepository(db).load_frame(CacheSpec().version, tickers)
