"""GET /health (open) and GET /metrics (a key): the Prometheus text exposition."""

from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from api import cache
from api.metrics import CONTENT_TYPE, gauge
from api.security import require_key
from engine import workflows

router = APIRouter(tags=["system"])


@router.get("/health")
def health() -> dict:
    """Liveness: no key needed, tells nothing about the data."""
    return {"status": "ok"}


def _model_lines(path: str) -> list[str]:
    """Model age and the drift monitor's flags for the active run at the newest session
    (the monitor is memoized per run and data version: a scrape recomputes nothing until
    a batch is stored or another run is made active)."""
    run = workflows.active_run(path)
    if run is None:
        return gauge("workbench_model_active", "1 when a model is active.", [({}, 0)])
    labels = {"run_id": run.run_id}
    finished = pd.Timestamp(run.finished_utc or run.created_utc)
    age = (pd.Timestamp.now(tz="UTC") - finished).total_seconds() / 86400
    lines = gauge("workbench_model_active", "1 when a model is active.", [({}, 1)])
    lines += gauge(
        "workbench_model_age_days", "Days since the active run finished.", [(labels, age)]
    )
    version = workflows.data_version(path)
    day = cache.newest_session(path, version)
    try:
        report = cache.monitor(path, run.run_id, version, day)
    except (workflows.StoreError, workflows.LookaheadError, ValueError):
        return lines + gauge("workbench_monitor_ok", "1 when the drift monitor ran.", [({}, 0)])
    drifted = report.drift[report.drift["drifted"].astype(bool)]
    lines += gauge("workbench_monitor_ok", "1 when the drift monitor ran.", [({}, 1)])
    lines += gauge(
        "workbench_retrain_recommended",
        "1 when the drift monitor recommends retraining.",
        [(labels, int(report.retrain))],
    )
    lines += gauge(
        "workbench_feature_drift",
        "1 for each feature the monitor flags as drifted.",
        [({**labels, "feature": str(f)}, 1) for f in drifted["feature"]],
    )
    return lines


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(require_key)])
def metrics(request: Request) -> PlainTextResponse:
    """Request counts by route and status, latency histogram, model age, drift flags."""
    lines = request.app.state.metrics.render() + _model_lines(request.app.state.db_path)
    return PlainTextResponse("\n".join(lines) + "\n", media_type=CONTENT_TYPE)
