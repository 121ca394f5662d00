"""Routines that run the other use cases in order.

``daily``: the daily pipeline behind the review page's one button.
``first_launch``: a new store seeded at once, its default model trained as a background
job (``python -m engine.workflows seed``).
"""

from engine.lazy_exports import ExportTable, lazy_exports

EXPORTS: ExportTable = {
    "engine.workflows.routines.daily": (
        "DailyResult",
        "run_daily_pipeline",
    ),
    "engine.workflows.routines.first_launch": (
        "FirstLaunch",
        "ensure_ready",
        "first_model_training",
    ),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, EXPORTS)
