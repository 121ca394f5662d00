"""Trading: the paper account, the broker mirror, the Go / No-Go gate, and the analyst's
own book.

``paper``: the paper-trading step, its guardrails and journal.
``guardrails``: the checks that pause the paper account, read as of a step; trips.
``paper_account``: the paper account as pages read it (marks, replay, P&L today), notes.
``paper_risk``: the paper book by regime, sector and factor; stressed and decomposed.
``broker``: the journal's orders mirrored to an Alpaca paper account, and reconciled.
``tca``: transaction-cost analysis of paper and broker fills; the slippage check.
``gate``: the Go / No-Go gate on the paper journal and the capital ramp.
``book``: the analyst's holdings, their risk and forecasts, the re-entry watch, the
double-down check.
"""

from engine.lazy_exports import ExportTable, lazy_exports

EXPORTS: ExportTable = {
    "engine.book.doubledown": (
        "DoubleDownParams",
        "DoubleDownVerdict",
    ),
    "engine.book.holdings": ("BookError",),
    "engine.trading.backtest": (
        "BacktestConfig",
        "CostModel",
    ),
    "engine.trading.broker": (
        "BROKER_MODES",
        "BrokerError",
        "BrokerSettings",
        "BrokerSettingsError",
        "parse_broker_settings",
    ),
    "engine.trading.construction": (
        "CONSTRUCTION_LIMITS",
        "CONSTRUCTION_METHODS",
        "ConstructionParams",
    ),
    "engine.trading.neutral": ("NEUTRAL_TO",),
    "engine.trading.risk_construction": ("COVARIANCE_SOURCES",),
    "engine.trading.execution": ("COST_LIMITS",),
    "engine.trading.guardrails": (
        "GUARDRAIL_LIMITS",
        "GuardrailParams",
    ),
    "engine.trading.pretrade": (
        "PRETRADE_LIMITS",
        "PretradeParams",
    ),
    "engine.trading.gate": (
        "GO",
        "RAMP_STAGES",
        "RULES",
    ),
    "engine.trading.paper": ("PaperParams",),
    "engine.trading.reconcile": ("ReconciliationReport",),
    "engine.trading.sizing": (
        "SIZING_LIMITS",
        "SizingParams",
    ),
    "engine.workflows.trading.book": (
        "BookReport",
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
    ),
    "engine.workflows.trading.broker": (
        "MirrorResult",
        "load_broker_orders",
        "mirror_orders",
        "reconcile_broker",
    ),
    "engine.workflows.trading.gate": (
        "GateReport",
        "change_ramp",
        "run_gate",
    ),
    "engine.workflows.trading.guardrails": (
        "CHECKS",
        "GuardrailStatus",
        "external_check",
        "guardrail_status",
    ),
    "engine.workflows.trading.tca": ("TcaReport", "slippage_check", "transaction_costs"),
    "engine.workflows.trading.paper": (
        "PaperStepResult",
        "paper_step",
        "sized_forecasts",
    ),
    "engine.workflows.trading.paper_account": (
        "PaperState",
        "load_paper_state",
        "resume_paper_trading",
        "set_order_note",
    ),
    "engine.workflows.trading.paper_risk": (
        "PaperBookRisk",
        "paper_book_risk",
        "paper_positions",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, EXPORTS)
