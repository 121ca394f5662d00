"""Routines that run the other use cases in order.

``daily``: the daily pipeline behind the review page's one button.
``first_launch``: a new store seeded at once, its default model trained as a background
job (``python -m engine.workflows seed``).
"""

from engine.workflows.routines.daily import DailyResult, run_daily_pipeline
from engine.workflows.routines.first_launch import FirstLaunch, ensure_ready, first_model_training

__all__ = [
    "DailyResult",
    "FirstLaunch",
    "ensure_ready",
    "first_model_training",
    "run_daily_pipeline",
]
