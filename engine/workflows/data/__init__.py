"""Data in and out: prices, price files, keyed live sources, the feature cache and the
as-of snapshot that every market-facing use case reads.

``prices``: prices in (refresh, CSV import, quality gate), watchlists, stored prices out.
``imports``: several price files at once: a preview, then one import per file.
``sources``: FRED macro series (with BTC-USD) and Finnhub news and insider transactions.
``features``: the per-ticker feature cache.
``snapshot``: the as-of snapshot: prices <= t, market context, regime, cached features.
"""

from engine.data.calendar import check_as_of, last_session_on_or_before, parse_date
from engine.data.csv_dates import DATE_FORMATS
from engine.data.csv_file import CsvImportError, csv_columns
from engine.data.csv_layouts import FIELDS, guess_mapping
from engine.data.providers import MARKET_SOURCES, REFRESHABLE_SOURCES
from engine.data.sample import DESCRIPTIONS
from engine.data.schema import InvalidTickerError, normalize_ticker, parse_tickers
from engine.data.summary import compute_price_summary
from engine.data.universe import FACTOR_ETFS, INDEX_TICKER, INDICES
from engine.features import FAMILY_NAMES, interpret_smi
from engine.features.readings import compute_family_availability, compute_feature_readings
from engine.features.regime import REGIME_NAMES, regime_transitions
from engine.features.technical import compute_overlays
from engine.workflows.data.features import (
    FeatureBuildResult,
    build_features,
    load_cached_features,
)
from engine.workflows.data.imports import ImportReport, import_files, preview_imports
from engine.workflows.data.prices import (
    DEFAULT_WATCHLIST,
    DEFAULT_WATCHLISTS,
    TICKER_OUTCOME_COLUMNS,
    DbPath,
    IngestResult,
    add_to_watchlist,
    data_version,
    delete_watchlist,
    ensure_seeded,
    import_csv,
    ingest,
    load_findings,
    load_freshness,
    load_ingestion_log,
    load_membership,
    load_prices,
    load_universe,
    load_watchlist,
    load_watchlists,
    refresh_data,
    remove_from_watchlist,
    save_watchlist,
    seed_watchlists,
    store_path,
)
from engine.workflows.data.snapshot import (
    AsOfSnapshot,
    build_snapshot,
    forget_snapshots,
    load_features,
    load_regime_history,
)
from engine.workflows.data.sources import (
    FINNHUB_KEY_ENV,
    FRED_KEY_ENV,
    SourceRefresh,
    load_macro_summary,
    load_sentiment_summary,
    refresh_macro,
    refresh_sentiment,
)
from store.db import StoreError
from store.watchlists import WatchlistError

__all__ = [
    "DATE_FORMATS",
    "DEFAULT_WATCHLIST",
    "DEFAULT_WATCHLISTS",
    "DESCRIPTIONS",
    "FACTOR_ETFS",
    "FAMILY_NAMES",
    "FIELDS",
    "FINNHUB_KEY_ENV",
    "FRED_KEY_ENV",
    "INDEX_TICKER",
    "INDICES",
    "MARKET_SOURCES",
    "REFRESHABLE_SOURCES",
    "REGIME_NAMES",
    "TICKER_OUTCOME_COLUMNS",
    "AsOfSnapshot",
    "CsvImportError",
    "DbPath",
    "FeatureBuildResult",
    "ImportReport",
    "IngestResult",
    "InvalidTickerError",
    "SourceRefresh",
    "StoreError",
    "WatchlistError",
    "add_to_watchlist",
    "build_features",
    "check_as_of",
    "parse_date",
    "compute_family_availability",
    "compute_feature_readings",
    "compute_overlays",
    "compute_price_summary",
    "csv_columns",
    "data_version",
    "delete_watchlist",
    "ensure_seeded",
    "guess_mapping",
    "import_csv",
    "import_files",
    "ingest",
    "interpret_smi",
    "last_session_on_or_before",
    "load_cached_features",
    "load_features",
    "load_findings",
    "load_freshness",
    "load_ingestion_log",
    "load_macro_summary",
    "load_membership",
    "load_prices",
    "load_regime_history",
    "load_sentiment_summary",
    "build_snapshot",
    "forget_snapshots",
    "load_universe",
    "load_watchlist",
    "load_watchlists",
    "normalize_ticker",
    "parse_tickers",
    "preview_imports",
    "refresh_data",
    "refresh_macro",
    "refresh_sentiment",
    "regime_transitions",
    "remove_from_watchlist",
    "save_watchlist",
    "seed_watchlists",
    "store_path",
]
