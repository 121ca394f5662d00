"""The as-of snapshot: what the store knew at a date, read in one store session.

Every use case that looks at the market (training, forecast, monitor, scenario, ablation,
paper step, daily review) takes an ``AsOfSnapshot`` instead of loading prices, features
and regimes on its own. Prices are filtered to ``date <= as_of`` in SQL, and so are macro
rows (``known_date <= as_of``), news (public on New York dates <= as_of), insider filings
and the ranges fetched; the market context and the regime are built from those rows only;
the per-ticker families come from the feature cache, cut at ``as_of``. Poisoning every
stored row after ``as_of`` therefore changes nothing in a snapshot (a test checks it byte
for byte).

The feature cache is a memo of a pure function of each ticker's rows (a value at d uses
rows <= d only; the truncation tests check it bit for bit), so bringing it up to date reads
the tickers' full stored rows; only values dated <= as_of reach the snapshot.

Snapshots are memoized in the process by (store, tickers, as_of, families) and the store
files' stamp (size and modification time of the database and its write-ahead log): any
write to the store, through this package or not, is a new stamp and a fresh read. A
memoized snapshot is shared: callers read its frames, never change them.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.schema import Progress
from engine.features import build_context, compute_regime_history
from engine.features.cache import CacheSpec
from engine.features.context import MarketContext, SentimentInputs
from engine.features.panel import to_long, to_wide
from engine.features.registry import (
    CONTEXT_FAMILIES,
    FAMILIES,
    availability_column,
    compute_panel_features,
    feature_columns,
    resolve_families,
)
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.training import TrainConfig, build_dataset
from engine.workflows.data.features import update_feature_cache
from engine.workflows.data.prices import DbPath, store_path
from store.db import open_db
from store.features import FeatureRepository
from store.macro import MacroRepository
from store.prices import PriceRepository
from store.sentiment import SentimentRepository


@dataclass(frozen=True)
class AsOfSnapshot:
    """The store as of ``as_of``.

    Attributes
    ----------
    as_of : the requested date (None: everything stored); no row below is dated after it.
    tickers : the tickers asked for, in order.
    prices : normalized price rows of ``tickers``, ``date <= as_of``.
    context : index, VIX, factors and breadth from every stored row ``<= as_of``; macro
        rows known by as_of; news and insider items of ``tickers`` public by as_of.
    regimes : the 12-state regime by date (``compute_regime_history``), dates <= as_of.
    features : features of ``families`` by (ticker, date), dates <= as_of.
    """

    as_of: pd.Timestamp | None
    tickers: tuple[str, ...]
    prices: pd.DataFrame
    context: MarketContext
    regimes: pd.DataFrame
    features: pd.DataFrame

    def features_for(self, families: Iterable[str]) -> pd.DataFrame:
        """``features`` plus the optional families among ``families`` (the price path),
        computed from ``prices`` on first use and kept with the snapshot."""
        optional = tuple(n for n in resolve_families(families) if FAMILIES[n].optional)
        if not optional or all(c in self.features.columns for c in feature_columns(optional)):
            return self.features
        if optional not in self._optional_features:
            panel = to_wide(self.prices)
            arrays = compute_panel_features(panel, optional, self.context)
            added = to_long(panel, arrays).reindex(self.features.index)
            self._optional_features[optional] = self.features.join(added)
        return self._optional_features[optional]

    @cached_property
    def _optional_features(self) -> dict[tuple[str, ...], pd.DataFrame]:
        return {}

    @property
    def last_session(self) -> pd.Timestamp | None:
        """The newest date with a price of any of the tickers."""
        return None if self.prices.empty else pd.Timestamp(self.prices["date"].max())

    def latest_features(self, families: Iterable[str] | None = None) -> pd.DataFrame:
        """Each ticker's last feature row (dated <= as_of), indexed by (ticker, date), with
        the optional ones among ``families``; found once per snapshot and shared like its
        other frames."""
        latest = self._latest_features
        wider = self.features if families is None else self.features_for(families)
        return latest if wider is self.features else wider.reindex(latest.index)

    @cached_property
    def _latest_features(self) -> pd.DataFrame:
        index = self.features.index
        # the ticker level's integer codes, not its strings (converting those costs more than
        # the forecast); rows come sorted by (ticker, date), so a ticker's last row is where
        # the next row's code differs
        tickers = index.codes[index.names.index("ticker")]
        last = np.flatnonzero(np.r_[tickers[1:] != tickers[:-1], True]) if len(tickers) else []
        return self.features.iloc[last]

    @property
    def index_close(self) -> pd.Series | None:
        """The index's closes by date (dates <= as_of), None when none is stored."""
        index = self.context.index
        return None if index is None else index["close"].dropna()

    def labels(
        self, params: LabelParams | None = None, membership: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Labels whose outcome was known by ``as_of`` (the rest are NaN, never guessed):
        they are computed from ``prices``, which hold no row after it. Relative labels take
        the snapshot's tickers that were members on each date (``membership``; all of them
        when None) as the universe; a non-member's rows are NaN."""
        return compute_labels(
            self.prices,
            params or LabelParams(),
            self.regimes["regime_id"],
            self.index_close,
            membership,
        )

    def training_rows(self, config: TrainConfig) -> pd.DataFrame:
        """The labelled rows a run of ``config`` trains on (``build_dataset``): its
        learner's feature families, its labels, outcomes known by ``config.as_of``."""
        return build_dataset(
            self.features_for(config.learner.families),
            self.prices,
            self.regimes["regime_id"],
            config,
            self.index_close,
        )


def build_snapshot(
    db_path: DbPath,
    tickers: Sequence[str],
    as_of: pd.Timestamp | None = None,
    *,
    families: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> AsOfSnapshot:
    """Read the snapshot of ``tickers`` as of ``as_of`` (None: all stored dates).

    The feature cache is brought up to date for ``tickers`` first (in a session of its own).
    A snapshot read before from an unchanged store is returned as it is (shared).
    """
    tickers = tuple(dict.fromkeys(tickers))
    as_of = None if as_of is None else pd.Timestamp(as_of)
    wanted = resolve_families(families)
    names = tuple(n for n in wanted if not FAMILIES[n].optional)
    path = Path(db_path if db_path is not None else store_path())
    key = (str(path.resolve()), tickers, as_of, tuple(wanted))
    memo = _SNAPSHOTS.get(key)
    if memo is not None and memo[0] == _store_stamp(path):
        _SNAPSHOTS.move_to_end(key)
        return memo[1]
    spec = CacheSpec()
    with closing(open_db(path)) as db:
        update_feature_cache(db, list(tickers), progress)
    # stamped after that session closed (its writes are in) and before the reads: a write
    # during them is a later stamp, never a stale memo
    stamp = _store_stamp(path)
    with closing(open_db(path)) as db:
        market = PriceRepository(db).load(None, end=as_of)  # the context needs every ticker
        cached = FeatureRepository(db).load_frame(spec.version, list(tickers))
        macro = MacroRepository(db).load(known_by=as_of)
        items = SentimentRepository(db)
        sentiment = SentimentInputs(
            items.load_news(tickers, as_of),
            items.load_insider(tickers, as_of),
            items.load_coverage(tickers, as_of),
        )
    prices = market[market["ticker"].isin(tickers)].reset_index(drop=True)
    context = build_context(market, macro=macro, sentiment=sentiment)
    regimes = compute_regime_history(context)
    ordered = feature_columns(names) + [availability_column(n) for n in names]
    if cached.empty or prices.empty:
        features = pd.DataFrame(
            columns=ordered,
            index=pd.MultiIndex.from_arrays([[], pd.DatetimeIndex([])], names=["ticker", "date"]),
        )
    else:
        if as_of is not None:
            cached = cached[cached.index.get_level_values("date") <= as_of]
        context_names = [n for n in names if n in CONTEXT_FAMILIES]
        if context_names:
            panel = to_wide(prices)
            arrays = compute_panel_features(panel, context_names, context)
            cached = cached.join(to_long(panel, arrays))
        features = cached[ordered]
    snapshot = AsOfSnapshot(as_of, tickers, prices, context, regimes, features)
    if names != wanted:
        snapshot = dataclasses.replace(snapshot, features=snapshot.features_for(wanted))
    _SNAPSHOTS[key] = (stamp, snapshot)
    while len(_SNAPSHOTS) > SNAPSHOTS_KEPT:
        _SNAPSHOTS.popitem(last=False)
    return snapshot


SNAPSHOTS_KEPT = 4
_SNAPSHOTS: OrderedDict[tuple, tuple[tuple[int, ...], AsOfSnapshot]] = OrderedDict()


def forget_snapshots() -> None:
    """Drop every memoized snapshot (the next read of each is a cold one)."""
    _SNAPSHOTS.clear()


def _store_stamp(path: Path) -> tuple[int, ...]:
    """Size and modification time (ns) of the database and of its write-ahead log when
    that holds frames: every write to the store changes it, opening and closing do not."""
    stamp: list[int] = []
    for name in (path, path.with_name(path.name + "-wal")):
        try:
            info = name.stat()
        except FileNotFoundError:
            continue
        if info.st_size:  # an empty log (a session opened, nothing written) holds nothing
            stamp += [info.st_size, info.st_mtime_ns]
    return tuple(stamp)


def load_features(
    db_path: DbPath,
    tickers: Sequence[str],
    families: Sequence[str] | None = None,
    progress: Progress | None = None,
    as_of: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Features of ``families`` by (ticker, date), dates <= ``as_of`` (the Signals page)."""
    return build_snapshot(db_path, tickers, as_of, families=families, progress=progress).features


def load_regime_history(db_path: DbPath, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """The 12-state regime by date from the stored market data, dates <= ``as_of``."""
    with closing(open_db(db_path)) as db:
        market = PriceRepository(db).load(None, end=None if as_of is None else pd.Timestamp(as_of))
    return compute_regime_history(build_context(market))
