"""Use cases that combine the engine and the store. Pages and models/train.py call these.

``data``: prices in (refresh, CSV import, quality gate), watchlists, stored prices out.
``imports``: several price files at once: a preview, then one import per file.
``features``: the feature cache, market context and regime.
``runs``: training in this process, the run registry, loading a model.
``jobs``: training as a job of its own.
``tuning``: an Optuna study of the learner's settings on a run's rows, every trial counted.
``trials``: the trial count and Sharpe variance behind every Deflated Sharpe.
``bundles``: importing bundles trained elsewhere.
``forecast``: forecasts with reasons.
``paper``: the paper-trading step, its guardrails and journal.
``broker``: the journal's orders mirrored to an Alpaca paper account, and reconciled.
``sources``: the keyed live sources in: FRED macro series (with BTC-USD) and Finnhub
news and insider transactions.
``book``: the analyst's holdings, their risk and forecasts, the re-entry watch, the
double-down check.
``alerts``: alerts raised once per event, delivered to Slack, Discord, email.
``gate``: the Go / No-Go gate on the paper journal and the capital ramp.
``report``: self-contained HTML tear sheets of a backtest, the paper account, a series.
``api_keys``: keys of the REST API (api/), stored hashed.
"""

from engine.alerts import (
    AlertSettings,
    AlertSettingsError,
    RetryPolicy,
    alert_settings_from_env,
    parse_alert_settings,
)
from engine.book.doubledown import DoubleDownParams, DoubleDownVerdict
from engine.book.holdings import BookError
from engine.modeling.artifacts import ArtifactError
from engine.modeling.evaluation import RunScores, SkillVerdict, ranking_skill
from engine.modeling.membership import UniverseWindow
from engine.modeling.tuning import TuningConfig
from engine.trading.broker import (
    BROKER_MODES,
    BrokerError,
    BrokerSettings,
    BrokerSettingsError,
    broker_settings_from_env,
    parse_broker_settings,
)
from engine.trading.reconcile import ReconciliationReport
from engine.workflows.ablations import (
    load_ablation_studies,
    load_ablation_study,
    run_ablation_study,
)
from engine.workflows.alerts import (
    ALERT_KINDS,
    AlertDispatch,
    load_alerts,
    raise_alert,
)
from engine.workflows.api_keys import (
    ApiKeyError,
    active_api_keys,
    authenticate,
    create_api_key,
    load_api_keys,
    revoke_api_key,
)
from engine.workflows.backtests import (
    ModelBacktest,
    run_construction,
    run_model_backtest,
    set_run_construction,
)
from engine.workflows.book import (
    BookReport,
    ReentryReport,
    add_holding,
    double_down,
    export_holdings_csv,
    holdings_report_html,
    import_holdings_csv,
    load_book,
    load_example_holdings,
    load_holdings,
    load_reentry_conditions,
    reentry_watch,
    remove_holding,
    remove_reentry_condition,
    save_reentry_condition,
)
from engine.workflows.broker import (
    MirrorResult,
    load_broker_orders,
    mirror_orders,
    reconcile_broker,
)
from engine.workflows.bundles import import_bundle, import_bundle_archive
from engine.workflows.calibration import CalibrationReport, calibration_report
from engine.workflows.daily import DailyResult, run_daily_pipeline
from engine.workflows.data import (
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
from engine.workflows.factors import FactorReport, factor_report
from engine.workflows.features import FeatureBuildResult, build_features, load_cached_features
from engine.workflows.forecast import forecast
from engine.workflows.gate import GateReport, change_ramp, run_gate
from engine.workflows.imports import ImportReport, import_files, preview_imports
from engine.workflows.jobs import (
    TrainingJob,
    cancel_training,
    launch_training,
    read_training_log,
    training_status,
)
from engine.workflows.monitor import MonitorReport, monitor_model
from engine.workflows.paper import (
    PaperState,
    PaperStepResult,
    load_paper_state,
    paper_step,
    resume_paper_trading,
    set_order_note,
    sized_forecasts,
)
from engine.workflows.report import (
    MIN_REPORT_VALUES,
    backtest_report_html,
    paper_report_html,
    value_report_html,
)
from engine.workflows.runs import (
    ARTIFACTS_ENV_VAR,
    RUN_ID_PATTERN,
    LookaheadError,
    activate_run,
    active_run,
    artifacts_root,
    describe_trained_through,
    keep_analyses,
    load_model,
    load_model_as_of,
    load_oos_predictions,
    load_run,
    load_runs,
    run_kind,
    train_model,
    trained_through,
)
from engine.workflows.scenarios import ScenarioResult, run_scenario
from engine.workflows.snapshot import (
    AsOfSnapshot,
    forget_snapshots,
    load_features,
    load_regime_history,
    load_snapshot,
)
from engine.workflows.sources import (
    FINNHUB_KEY_ENV,
    FRED_KEY_ENV,
    SourceRefresh,
    api_key,
    load_macro_summary,
    load_sentiment_summary,
    refresh_macro,
    refresh_sentiment,
)
from engine.workflows.tuning import study_storage
from store.api_keys import ApiKeyRecord
from store.db import StoreError
from store.models import ModelRun, TrainingBusyError
from store.watchlists import WatchlistError

__all__ = [
    "MIN_REPORT_VALUES",
    "ApiKeyError",
    "ApiKeyRecord",
    "active_api_keys",
    "authenticate",
    "create_api_key",
    "load_api_keys",
    "revoke_api_key",
    "sized_forecasts",
    "RUN_ID_PATTERN",
    "BROKER_MODES",
    "BrokerError",
    "BrokerSettings",
    "BrokerSettingsError",
    "MirrorResult",
    "ReconciliationReport",
    "broker_settings_from_env",
    "load_broker_orders",
    "mirror_orders",
    "parse_broker_settings",
    "reconcile_broker",
    "FINNHUB_KEY_ENV",
    "FRED_KEY_ENV",
    "SourceRefresh",
    "api_key",
    "load_macro_summary",
    "load_sentiment_summary",
    "refresh_macro",
    "refresh_sentiment",
    "BookError",
    "BookReport",
    "DoubleDownParams",
    "DoubleDownVerdict",
    "ReentryReport",
    "add_holding",
    "double_down",
    "export_holdings_csv",
    "holdings_report_html",
    "import_holdings_csv",
    "load_book",
    "load_example_holdings",
    "load_holdings",
    "load_reentry_conditions",
    "reentry_watch",
    "remove_holding",
    "remove_reentry_condition",
    "save_reentry_condition",
    "ALERT_KINDS",
    "AlertDispatch",
    "AlertSettings",
    "AlertSettingsError",
    "RetryPolicy",
    "alert_settings_from_env",
    "load_alerts",
    "parse_alert_settings",
    "raise_alert",
    "GateReport",
    "change_ramp",
    "run_gate",
    "backtest_report_html",
    "paper_report_html",
    "value_report_html",
    "RunScores",
    "SkillVerdict",
    "FactorReport",
    "factor_report",
    "run_kind",
    "active_run",
    "ranking_skill",
    "run_construction",
    "set_run_construction",
    "PaperState",
    "load_cached_features",
    "CalibrationReport",
    "calibration_report",
    "AsOfSnapshot",
    "LookaheadError",
    "ModelRun",
    "load_model_as_of",
    "load_snapshot",
    "trained_through",
    "describe_trained_through",
    "ARTIFACTS_ENV_VAR",
    "ArtifactError",
    "DEFAULT_WATCHLIST",
    "DEFAULT_WATCHLISTS",
    "DailyResult",
    "TICKER_OUTCOME_COLUMNS",
    "PaperStepResult",
    "ScenarioResult",
    "DbPath",
    "FeatureBuildResult",
    "IngestResult",
    "ImportReport",
    "ModelBacktest",
    "MonitorReport",
    "StoreError",
    "TrainingBusyError",
    "TrainingJob",
    "TuningConfig",
    "UniverseWindow",
    "WatchlistError",
    "activate_run",
    "add_to_watchlist",
    "artifacts_root",
    "build_features",
    "cancel_training",
    "data_version",
    "delete_watchlist",
    "ensure_seeded",
    "forecast",
    "forget_snapshots",
    "import_bundle",
    "import_bundle_archive",
    "import_csv",
    "import_files",
    "ingest",
    "launch_training",
    "load_ablation_studies",
    "load_ablation_study",
    "load_features",
    "load_findings",
    "load_freshness",
    "load_ingestion_log",
    "load_membership",
    "load_model",
    "load_oos_predictions",
    "load_paper_state",
    "load_prices",
    "load_regime_history",
    "keep_analyses",
    "load_run",
    "load_runs",
    "load_universe",
    "load_watchlist",
    "load_watchlists",
    "monitor_model",
    "paper_step",
    "preview_imports",
    "read_training_log",
    "refresh_data",
    "remove_from_watchlist",
    "resume_paper_trading",
    "run_ablation_study",
    "run_daily_pipeline",
    "run_model_backtest",
    "run_scenario",
    "save_watchlist",
    "seed_watchlists",
    "set_order_note",
    "store_path",
    "train_model",
    "study_storage",
    "training_status",
]
