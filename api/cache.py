"""Workflow results memoized by what determines them, so repeated requests reuse them.

Every key holds the store's data version (it changes whenever a batch is stored) and,
for a model's output, the run id (a finished run never changes): a new batch or a new
active run is a new key, never a stale answer. The frames returned are shared between
requests: callers read them, never change them.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from engine import workflows


@lru_cache(maxsize=8)
def coverage(path: str, version: int) -> pd.DataFrame:
    """Stored tickers (index) and their last session (``last_date``)."""
    frame = workflows.load_freshness(path, pd.Timestamp.today().normalize())
    return frame.set_index("ticker")[["last_date"]]


def newest_session(path: str, version: int) -> pd.Timestamp | None:
    """The newest stored session of any ticker (the default as-of date)."""
    last = coverage(path, version)["last_date"].max()
    return None if pd.isna(last) else pd.Timestamp(last)


@lru_cache(maxsize=64)
def forecasts(
    path: str, run_id: str, version: int, as_of: pd.Timestamp, tickers: tuple[str, ...]
) -> pd.DataFrame:
    """``workflows.sized_forecasts`` of ``tickers`` at ``as_of`` by run ``run_id``."""
    return workflows.sized_forecasts(path, list(tickers), as_of, run_id=run_id)


@lru_cache(maxsize=8)
def monitor(path: str, run_id: str, version: int, as_of: pd.Timestamp) -> workflows.MonitorReport:
    """The drift monitor of run ``run_id`` at ``as_of`` (what the Monitor page shows)."""
    return workflows.monitor_model(path, as_of, run_id=run_id)
