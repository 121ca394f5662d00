"""The daily pipeline behind the review page's one button."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.alerts import AlertSettings
from engine.data.universe import FACTOR_ETFS, INDICES
from engine.workflows.data import DbPath, IngestResult, refresh_data
from engine.workflows.forecast import forecast
from engine.workflows.monitor import MonitorReport, monitor_model
from engine.workflows.snapshot import load_snapshot
from store.db import StoreError


@dataclass(frozen=True)
class DailyResult:
    refresh: IngestResult
    forecasts: pd.DataFrame | None
    monitor: MonitorReport | None
    notes: tuple[str, ...]


def run_daily_pipeline(
    db_path: DbPath,
    source: str,
    tickers: list[str],
    as_of: pd.Timestamp,
    progress=None,
    *,
    alerts: AlertSettings | None = None,
) -> DailyResult:
    """Refresh the watchlist and the market context from ``source``, bring the feature cache
    up to date, forecast with the active model and check it for drift (a retrain
    recommendation alerts through ``alerts``). Steps that cannot run (no model yet) are
    reported in ``notes``, not raised."""

    def report(fraction: float, text: str) -> None:
        if progress:
            progress(fraction, text)

    wanted = sorted(set(tickers) | set(INDICES) | set(FACTOR_ETFS))
    refreshed = refresh_data(db_path, source, wanted, progress=lambda f, t: report(0.6 * f, t))
    report(0.65, "Updating the feature cache and reading the as-of snapshot")
    snapshot = load_snapshot(db_path, tickers, as_of)
    notes, forecasts, monitor = [], None, None
    try:
        report(0.8, "Forecasting with the active model")
        forecasts = forecast(db_path, snapshot)
        report(0.9, "Checking the model for drift")
        monitor = monitor_model(db_path, as_of, alerts=alerts)
    except (StoreError, ValueError, KeyError, IndexError) as exc:
        notes.append(f"Forecasts and drift skipped: {exc}")
    report(1.0, "Daily pipeline finished")
    return DailyResult(refreshed, forecasts, monitor, tuple(notes))
