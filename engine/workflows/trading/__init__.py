"""Trading: the paper account, the broker mirror, the Go / No-Go gate, and the analyst's
own book.

``paper``: the paper-trading step, its guardrails and journal.
``paper_account``: the paper account as pages read it (marks, replay, P&L today), notes.
``broker``: the journal's orders mirrored to an Alpaca paper account, and reconciled.
``gate``: the Go / No-Go gate on the paper journal and the capital ramp.
``book``: the analyst's holdings, their risk and forecasts, the re-entry watch, the
double-down check.
"""

from engine.book.doubledown import DoubleDownParams, DoubleDownVerdict
from engine.book.holdings import BookError
from engine.trading.backtest import BacktestConfig, CostModel
from engine.trading.broker import (
    BROKER_MODES,
    BrokerError,
    BrokerSettings,
    BrokerSettingsError,
    parse_broker_settings,
)
from engine.trading.construction import (
    CONSTRUCTION_LIMITS,
    CONSTRUCTION_METHODS,
    ConstructionParams,
)
from engine.trading.execution import COST_LIMITS
from engine.trading.gate import GO, RAMP_STAGES, RULES
from engine.trading.paper import PaperParams
from engine.trading.reconcile import ReconciliationReport
from engine.trading.sizing import SIZING_LIMITS, SizingParams
from engine.workflows.trading.book import (
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
from engine.workflows.trading.broker import (
    MirrorResult,
    load_broker_orders,
    mirror_orders,
    reconcile_broker,
)
from engine.workflows.trading.gate import GateReport, change_ramp, run_gate
from engine.workflows.trading.paper import PaperStepResult, paper_step, sized_forecasts
from engine.workflows.trading.paper_account import (
    PaperState,
    load_paper_state,
    resume_paper_trading,
    set_order_note,
)

__all__ = [
    "PaperParams",
    "BROKER_MODES",
    "CONSTRUCTION_LIMITS",
    "CONSTRUCTION_METHODS",
    "COST_LIMITS",
    "GO",
    "RAMP_STAGES",
    "RULES",
    "BacktestConfig",
    "BookError",
    "BookReport",
    "BrokerError",
    "BrokerSettings",
    "BrokerSettingsError",
    "ConstructionParams",
    "CostModel",
    "DoubleDownParams",
    "DoubleDownVerdict",
    "GateReport",
    "MirrorResult",
    "PaperState",
    "PaperStepResult",
    "ReconciliationReport",
    "ReentryReport",
    "SIZING_LIMITS",
    "SizingParams",
    "add_holding",
    "change_ramp",
    "double_down",
    "export_holdings_csv",
    "holdings_report_html",
    "import_holdings_csv",
    "load_book",
    "load_broker_orders",
    "load_example_holdings",
    "load_holdings",
    "load_paper_state",
    "load_reentry_conditions",
    "mirror_orders",
    "paper_step",
    "parse_broker_settings",
    "reconcile_broker",
    "reentry_watch",
    "remove_holding",
    "remove_reentry_condition",
    "resume_paper_trading",
    "run_gate",
    "save_reentry_condition",
    "set_order_note",
    "sized_forecasts",
]
