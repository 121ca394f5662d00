"""Every backtest, ablation variant, scenario and tuning trial is a trial: the Deflated
Sharpe counts them all."""

from __future__ import annotations

import numpy as np
from sqlite_utils import Database

from store.db import write_transaction
from store.migrations import utc_now


class TrialRepository:
    """The ``backtest_trials`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, kind: str, label: str, sharpe_per_period: float, days: int) -> None:
        with write_transaction(self.db):
            self.db.execute(
                "INSERT INTO backtest_trials (kind, label, sharpe_per_period, days, created_utc) "
                "VALUES (?, ?, ?, ?, ?)",
                (kind, label, float(sharpe_per_period), int(days), utc_now()),
            )

    def summary(self) -> tuple[int, float]:
        """Number of trials (every one recorded) and the variance of their per-period Sharpe
        ratios (over those that have one: a trial that never traded has none)."""
        values = np.array(
            [r[0] for r in self.db.execute("SELECT sharpe_per_period FROM backtest_trials")],
            dtype=float,
        )
        finite = values[np.isfinite(values)]
        variance = float(np.var(finite, ddof=1)) if len(finite) > 1 else 0.0
        return len(values), variance
