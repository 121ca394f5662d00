"""Trials for the Deflated Sharpe: every backtest, ablation variant, scenario and tuning
trial is counted."""

from __future__ import annotations

from contextlib import closing

import numpy as np

from engine.metrics import TRADING_DAYS, sharpe
from engine.workflows.data.prices import DbPath
from store.db import open_db
from store.trials import TrialRepository


def record_trial(db_path: DbPath, kind: str, label: str, returns: np.ndarray) -> tuple[int, float]:
    """Count a run as a trial for the Deflated Sharpe; return the number of trials so far
    and the variance of their per-period Sharpe ratios."""
    per_period = sharpe(returns) / np.sqrt(TRADING_DAYS) if len(returns) > 1 else np.nan
    with closing(open_db(db_path)) as db:
        trials = TrialRepository(db)
        trials.record(kind, label, per_period, len(returns))
        return trials.summary()
