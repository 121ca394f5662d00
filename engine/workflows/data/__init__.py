"""Data in and out: prices, price files, keyed live sources, the feature cache and the
as-of snapshot that every market-facing use case reads.

``prices``: prices in (refresh, CSV import, quality gate), watchlists, stored prices out.
``imports``: several price files at once: a preview, then one import per file.
``sources``: FRED macro series (with BTC-USD) and Finnhub news and insider transactions.
``features``: the per-ticker feature cache.
``snapshot``: the as-of snapshot: prices <= t, market context, regime, cached features.
"""

from engine.lazy_exports import ExportTable, lazy_exports

EXPORTS: ExportTable = {
    "engine.data.calendar": (
        "check_as_of",
        "last_session_on_or_before",
        "parse_date",
    ),
    "engine.data.csv_dates": ("DATE_FORMATS",),
    "engine.data.csv_file": (
        "CsvImportError",
        "csv_columns",
    ),
    "engine.data.csv_layouts": (
        "FIELDS",
        "guess_mapping",
    ),
    "engine.data.providers": (
        "MARKET_SOURCES",
        "REFRESHABLE_SOURCES",
    ),
    "engine.data.sample": ("DESCRIPTIONS",),
    "engine.data.schema": (
        "InvalidTickerError",
        "normalize_ticker",
        "parse_tickers",
    ),
    "engine.data.summary": ("compute_price_summary",),
    "engine.data.universe": (
        "FACTOR_ETFS",
        "INDEX_TICKER",
        "INDICES",
    ),
    "engine.features": (
        "DEFAULT_FAMILIES",
        "FAMILY_NAMES",
        "interpret_smi",
    ),
    "engine.features.readings": (
        "compute_family_availability",
        "compute_feature_readings",
    ),
    "engine.features.regime": (
        "REGIME_NAMES",
        "regime_transitions",
    ),
    "engine.features.technical": ("compute_overlays",),
    "engine.workflows.data.features": (
        "FeatureBuildResult",
        "build_features",
        "load_cached_features",
    ),
    "engine.workflows.data.imports": (
        "ImportReport",
        "import_files",
        "preview_imports",
    ),
    "engine.workflows.data.prices": (
        "DEFAULT_WATCHLIST",
        "DEFAULT_WATCHLISTS",
        "TICKER_OUTCOME_COLUMNS",
        "DbPath",
        "IngestResult",
        "add_to_watchlist",
        "data_version",
        "delete_watchlist",
        "ensure_seeded",
        "import_csv",
        "ingest",
        "load_findings",
        "load_freshness",
        "load_ingestion_log",
        "load_membership",
        "load_prices",
        "load_universe",
        "load_watchlist",
        "load_watchlists",
        "refresh_data",
        "remove_from_watchlist",
        "save_watchlist",
        "seed_watchlists",
        "store_path",
    ),
    "engine.workflows.data.snapshot": (
        "AsOfSnapshot",
        "build_snapshot",
        "forget_snapshots",
        "load_features",
        "load_regime_history",
    ),
    "engine.workflows.data.sources": (
        "FINNHUB_KEY_ENV",
        "FRED_KEY_ENV",
        "SourceRefresh",
        "load_macro_summary",
        "load_sentiment_summary",
        "refresh_macro",
        "refresh_sentiment",
    ),
    "store.db": ("StoreError",),
    "store.watchlists": ("WatchlistError",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, EXPORTS)
