"""A run's calibration report: every method side by side and reliability curves, out of
sample (the Calibration page shows it), kept with the run as a typed record."""

from __future__ import annotations

import pandas as pd

from engine.metrics import ic_block
from engine.modeling.analyses import CalibrationReport
from engine.modeling.artifacts import CALIBRATION_RECORD
from engine.modeling.calibration_scores import (
    METHOD_COLUMNS,
    compare_methods,
    reliability_by_regime,
    reliability_curve,
)
from engine.workflows.data.prices import DbPath
from engine.workflows.modeling.runs import run_analysis, run_horizon
from store.models import ModelRun


def calibration_report(db_path: DbPath, run_id: str | None = None) -> CalibrationReport:
    """The report of a run (the active one by default): computed once and kept with the
    run (``run_analysis``)."""
    return run_analysis(db_path, run_id, CALIBRATION_RECORD, CalibrationReport, compute_report)


def compute_report(predictions: pd.DataFrame, record: ModelRun) -> CalibrationReport:
    """The calibration report of ``record``'s out-of-sample ``predictions``."""
    dates = predictions.index.get_level_values("date")
    y = predictions["label"].to_numpy()
    curves = {
        name: reliability_curve(y, predictions[column].to_numpy())
        for name, column in METHOD_COLUMNS.items()
        if column in predictions
    }
    by_regime = reliability_by_regime(predictions)
    return CalibrationReport(
        run_id=record.run_id,
        forecasts=len(predictions),
        sessions=dates.nunique(),
        first=dates.min(),
        last=dates.max(),
        folds=int(predictions["fold"].nunique()),
        methods=compare_methods(predictions, block=ic_block(run_horizon(record))),
        curves=curves,
        by_regime=by_regime,
        regimes_skipped=max(0, int(predictions["regime_id"].nunique()) - len(by_regime)),
    )
