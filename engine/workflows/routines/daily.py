"""The daily pipeline behind the review page's one button."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.alerts import AlertSettings
from engine.data.schema import scaled_progress
from engine.data.universe import FACTOR_ETFS, INDICES
from engine.workflows.data.prices import DbPath, IngestResult, refresh_data
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.forecast import forecast
from engine.workflows.platform.alerts import raise_alert
from engine.workflows.research.monitor import MonitorReport, monitor_model
from engine.workflows.trading.book import reentry_watch
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
    up to date, forecast with the active model, check it for drift and watch the re-entry
    conditions (a retrain recommendation and a ticker whose conditions are all met alert
    through ``alerts``, once per event). Steps that cannot run (no model yet) are reported
    in ``notes``, not raised."""

    def report(fraction: float, text: str) -> None:
        if progress:
            progress(fraction, text)

    wanted = sorted(set(tickers) | set(INDICES) | set(FACTOR_ETFS))
    refreshed = refresh_data(db_path, source, wanted, progress=scaled_progress(report, 0.0, 0.6))
    report(0.65, "Updating the feature cache and reading the as-of snapshot")
    snapshot = build_snapshot(db_path, tickers, as_of)
    notes, forecasts, monitor = [], None, None
    try:
        report(0.8, "Forecasting with the active model")
        forecasts = forecast(db_path, snapshot)
        report(0.9, "Checking the model for drift")
        monitor = monitor_model(db_path, as_of, alerts=alerts)
    except (StoreError, ValueError, KeyError, IndexError) as exc:
        notes.append(f"Forecasts and drift skipped: {exc}")
    report(0.95, "Watching the re-entry conditions")
    alert_reentry(db_path, as_of, alerts)
    report(1.0, "Daily pipeline finished")
    return DailyResult(refreshed, forecasts, monitor, tuple(notes))


def alert_reentry(db_path: DbPath, as_of: pd.Timestamp, alerts: AlertSettings | None) -> list[str]:
    """Alert each ticker whose re-entry conditions are all met at ``as_of``, once per run of
    met sessions (the event id carries the run's first session); the tickers alerted."""
    met = [s for s in reentry_watch(db_path, as_of).statuses if s.state == "met"]
    for status in met:
        since = f"{status.since:%Y-%m-%d}"
        raise_alert(
            db_path,
            "reentry_met",
            f"reentry_met:{status.ticker}:{since}",
            f"Re-entry conditions met: {status.ticker}",
            f"Every re-entry condition of {status.ticker} is met on {status.session:%Y-%m-%d}"
            f" (since {since}).",
            settings=alerts,
        )
    return [s.ticker for s in met]
