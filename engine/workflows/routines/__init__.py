"""Routines that run the other use cases in order.

``daily``: the daily pipeline behind the review page's one button.
``first_launch``: a new store seeded at once, its default model trained as a background
job (``python -m engine.workflows seed``).
``routine``: the daily routine after each close, every step once per session
(``python -m engine.workflows daily``).
``schedule``: the routine run in-process half an hour after each close (the API server's).
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
    "engine.workflows.routines.routine": (
        "STEPS",
        "RoutineBusyError",
        "RoutineConfig",
        "RoutineResult",
        "closed_sessions",
        "load_routine_history",
        "next_routine_run",
        "run_routine",
    ),
    "engine.workflows.routines.schedule": ("RoutineSchedule",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, EXPORTS)
