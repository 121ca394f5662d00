"""A run's analyses computed once and kept with it (typed records in its folder)."""

from __future__ import annotations

from engine.data.schema import Progress
from engine.workflows.data.prices import DbPath
from engine.workflows.research.calibration import calibration_report
from engine.workflows.research.factors import factor_report


def keep_analyses(db_path: DbPath, run_id: str, progress: Progress | None = None) -> None:
    """Compute the analyses the pages show of a registered run once, and keep them with it:
    its calibration report and its signal analysis (the Factors page's defaults). The app's
    training paths (models/train.py, which the first launch's job runs) call it right after
    training; a run without them gets them on its first read."""
    if progress:
        progress(1.0, f"Run {run_id}: keeping its calibration and signal analyses")
    calibration_report(db_path, run_id)
    factor_report(db_path, run_id)
