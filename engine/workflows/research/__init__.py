"""Research on a registered model, out of sample: backtests, calibration, factors,
ablations, scenario replays, the drift monitor, and the tear-sheet reports.

``backtests``: a run's walk-forward predictions traded with its construction and costs.
``calibration``: every calibration method side by side, reliability curves.
``factors``: the ranking judged as alphalens judges a factor; each feature's rank IC.
``ablations``: the ablation study: variants, trials, saved results.
``scenarios``: a model trained before a window, traded through it.
``monitor``: recent features against the training baseline; recent outcomes.
``report``: self-contained HTML tear sheets of a backtest, the paper account, a series.
``analyses``: a run's calibration and signal analyses computed once and kept with it.
"""

from engine.metrics import ic_block
from engine.modeling.evaluation import RunScores, SkillVerdict, ranking_skill
from engine.studies.ablation import VARIANT_NAMES, AblationConfig
from engine.studies.drift import DriftThresholds
from engine.studies.scenarios import SCENARIOS, Scenario, covered
from engine.workflows.research.ablations import (
    load_ablation_studies,
    load_ablation_study,
    run_ablation_study,
)
from engine.workflows.research.analyses import keep_analyses
from engine.workflows.research.backtests import (
    ModelBacktest,
    run_construction,
    run_model_backtest,
    set_run_construction,
)
from engine.workflows.research.calibration import CalibrationReport, calibration_report
from engine.workflows.research.factors import FactorReport, factor_report
from engine.workflows.research.monitor import MonitorReport, monitor_model
from engine.workflows.research.report import (
    MIN_REPORT_VALUES,
    backtest_report_html,
    paper_report_html,
    value_report_html,
)
from engine.workflows.research.scenarios import ScenarioResult, run_scenario

__all__ = [
    "keep_analyses",
    "MIN_REPORT_VALUES",
    "SCENARIOS",
    "VARIANT_NAMES",
    "AblationConfig",
    "CalibrationReport",
    "DriftThresholds",
    "FactorReport",
    "ModelBacktest",
    "MonitorReport",
    "Scenario",
    "ScenarioResult",
    "SkillVerdict",
    "RunScores",
    "backtest_report_html",
    "calibration_report",
    "covered",
    "factor_report",
    "ic_block",
    "load_ablation_studies",
    "load_ablation_study",
    "monitor_model",
    "paper_report_html",
    "ranking_skill",
    "run_ablation_study",
    "run_construction",
    "run_model_backtest",
    "run_scenario",
    "set_run_construction",
    "value_report_html",
]
