"""GET /health (open) and GET /metrics (a key): the Prometheus text exposition of the
application's registry (``api.metrics``) with the active model's gauges, read at each
scrape (``model_gauges``)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client.core import Metric

from api import cache
from api.metrics import CONTENT_TYPE, gauge
from api.security import require_key
from engine import workflows

router = APIRouter(tags=["system"])


@router.get("/health")
def health(request: Request) -> dict:
    """Liveness, no key needed, and the daily routine's state: when a scheduler next runs
    it, and the last session it ran with that session's failed steps (nothing about the
    data itself)."""
    history = workflows.load_routine_history(request.app.state.db_path, limit=50)
    last = history["session"].max() if len(history) else None
    failed = history[(history["session"] == last) & (history["status"] == "failed")]
    return {
        "status": "ok",
        "routine": {
            "next_run_utc": workflows.next_routine_run().isoformat(),
            "last_session": last,
            "failed_steps": failed["step"].tolist(),
        },
    }


def model_gauges(path: str) -> Iterator[Metric]:
    """Model age and the drift monitor's flags for the active run at the newest session
    (the monitor is memoized per run and data version: a scrape recomputes nothing until
    a batch is stored or another run is made active). Labels: the active run's id and
    the monitor's feature names, both fixed by the run."""
    run = workflows.active_run(path)
    yield gauge("workbench_model_active", "1 when a model is active.", [({}, int(bool(run)))])
    if run is None:
        return
    labels = {"run_id": run.run_id}
    finished = pd.Timestamp(run.finished_utc or run.created_utc)
    age = (pd.Timestamp.now(tz="UTC") - finished).total_seconds() / 86400
    yield gauge("workbench_model_age_days", "Days since the active run finished.", [(labels, age)])
    version = workflows.data_version(path)
    day = cache.newest_session(path, version)
    try:
        report = cache.monitor(path, run.run_id, version, day)
    except (workflows.StoreError, workflows.LookaheadError, ValueError):
        yield gauge("workbench_monitor_ok", "1 when the drift monitor ran.", [({}, 0)])
        return
    drifted = report.drift[report.drift["drifted"].astype(bool)]
    yield gauge("workbench_monitor_ok", "1 when the drift monitor ran.", [({}, 1)])
    yield gauge(
        "workbench_retrain_recommended",
        "1 when the drift monitor recommends retraining.",
        [(labels, int(report.retrain))],
    )
    yield gauge(
        "workbench_feature_drift",
        "1 for each feature the monitor flags as drifted.",
        [({**labels, "feature": str(f)}, 1) for f in drifted["feature"]],
    )


@router.get("/metrics", response_class=Response, dependencies=[Depends(require_key)])
def metrics(request: Request) -> Response:
    """Request counts by route, method and status, latency histogram, model age, drift
    flags, in Prometheus' text format."""
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE)
