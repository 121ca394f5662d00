"""Research on a registered model, out of sample: backtests, calibration, factors,
ablations, scenario replays, the drift monitor, the live record, and the tear-sheet
reports.

``backtests``: a run's walk-forward predictions traded with its construction and costs.
``breakdowns``: a book's returns by regime and by sector, with intervals.
``book_risk``: a book's tail risk and stress tests (past crises, index shocks).
``signal_studies``: a stated condition's events and what followed, counted and saved.
``risk_models``: factor risk models on stored prices; neutralized IC; attribution.
``calibration``: every calibration method side by side, reliability curves.
``factors``: the ranking judged as alphalens judges a factor; each feature's rank IC.
``ablations``: the ablation study: variants, trials, saved results.
``scenarios``: a model trained before a window, traded through it.
``monitor``: recent features against the training baseline; recent outcomes.
``live_record``: forecasts stored as made, scored when known, judged against the backtest.
``live_calibration``: the live record's known outcomes remap the probabilities, versioned.
``retraining``: the retraining policy: stored, applied each session, replayed over history.
``report``: self-contained HTML tear sheets of a backtest, the paper account, a series.
``analyses``: a run's calibration and signal analyses computed once and kept with it.
``zoos``: the model zoo: every learner on the same folds, trials, saved results.
``studies``: what the saved studies share: rows, settings, trials, tables by kind.
"""

from engine.lazy_exports import ExportTable, lazy_exports

EXPORTS: ExportTable = {
    "engine.metrics": ("ic_block",),
    "engine.modeling.evaluation": (
        "RunScores",
        "SkillVerdict",
        "ranking_skill",
    ),
    "engine.studies.ablation": (
        "VARIANT_NAMES",
        "AblationConfig",
    ),
    "engine.modeling.policies": (
        "CADENCES",
        "WINDOW_MONTHS",
        "RetrainPolicy",
    ),
    "engine.studies.drift": ("DriftThresholds",),
    "engine.studies.zoo": (
        "ENSEMBLES",
        "QLIB_REFERENCES",
        "ZooConfig",
    ),
    "engine.studies.scenarios": (
        "SCENARIOS",
        "Scenario",
        "covered",
    ),
    "engine.workflows.research.ablations": ("run_ablation_study",),
    "engine.workflows.research.analyses": ("keep_analyses",),
    "engine.workflows.research.backtests": (
        "ModelBacktest",
        "run_construction",
        "run_model_backtest",
        "set_run_construction",
    ),
    "engine.workflows.research.book_risk": (
        "BookStress",
        "stress_book",
    ),
    "engine.workflows.research.breakdowns": (
        "BookBreakdown",
        "break_down_book",
    ),
    "engine.workflows.research.calibration": (
        "CalibrationReport",
        "calibration_report",
    ),
    "engine.workflows.research.factors": (
        "FactorReport",
        "factor_report",
    ),
    "engine.workflows.research.retraining": (
        "TRIGGER_COOLDOWN",
        "RetrainCheck",
        "last_training",
        "load_retrain_policy",
        "retrain_if_due",
        "save_retrain_policy",
        "simulate_retraining",
    ),
    "engine.workflows.research.monitor": (
        "MonitorReport",
        "monitor_model",
    ),
    "engine.studies.live": ("LiveReport",),
    "engine.modeling.live_calibration": (
        "LiveCalibrationConfig",
        "LiveCalibrationJudgement",
    ),
    "engine.workflows.research.live_calibration": (
        "live_calibration_as_of",
        "live_calibration_report",
        "recalibrated",
        "update_live_calibration",
    ),
    "engine.workflows.research.live_record": (
        "live_report",
        "reasons_digest",
        "record_live_forecasts",
        "score_live_record",
    ),
    "engine.workflows.research.report": (
        "MIN_REPORT_VALUES",
        "backtest_report_html",
        "paper_report_html",
        "value_report_html",
    ),
    "engine.workflows.research.scenarios": (
        "ScenarioResult",
        "run_scenario",
    ),
    "engine.studies.signals": (
        "ROUND_TRIP_BPS",
        "SignalStudyParams",
        "SignalStudyResult",
    ),
    "engine.studies.conditions": ("ConditionError",),
    "engine.workflows.research.risk_models": (
        "RiskHistory",
        "attribute_book",
        "build_risk_history",
        "neutralized_ic",
        "risk_universe",
    ),
    "engine.workflows.research.signal_studies": (
        "horizon_table",
        "run_signal_study",
    ),
    "engine.workflows.research.studies": (
        "load_studies",
        "load_study",
    ),
    "engine.workflows.research.zoos": ("run_zoo_study",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, EXPORTS)
