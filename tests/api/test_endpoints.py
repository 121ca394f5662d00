"""Every endpoint over a trained sample store, through FastAPI's TestClient."""

from __future__ import annotations

import os
from contextlib import closing

import pandas as pd
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from engine import workflows
from store.db import open_db
from store.models import ModelRunRepository
from tests.builders import SMALL_TRAIN

THROUGH = SMALL_TRAIN.as_of  # the run is trained through about this date


def test_health_is_open_and_says_when_the_routine_runs_next(client) -> None:
    body = client.get("/health", headers={"X-API-Key": ""}).json()
    assert body["status"] == "ok"
    routine = body["routine"]
    assert routine["last_session"] is None and routine["failed_steps"] == []  # never ran
    assert pd.Timestamp(routine["next_run_utc"]) > pd.Timestamp.now(tz="UTC")


def test_forecast_of_one_ticker(client, trained_db) -> None:
    body = client.get("/forecast/aapl").json()
    run = workflows.active_run(trained_db)
    assert body["ticker"] == "AAPL" and body["run_id"] == run.run_id
    assert body["signal"] in {"BUY", "SELL", "HOLD"}
    assert 0 <= body["p"] <= 1 and 0 <= body["confidence"] <= 1
    assert 1 <= len(body["reasons"]) <= 5 and all(isinstance(r, str) for r in body["reasons"])
    assert body["size"] is None or -1 <= body["size"] <= 1
    assert body["as_of"] >= body["session"]


def test_forecast_matches_the_workflow(client, trained_db) -> None:
    day = pd.Timestamp("2019-03-01")
    body = client.get("/forecast/KO", params={"as_of": "2019-03-01"}).json()
    frame = workflows.sized_forecasts(trained_db, list(SMALL_TRAIN.tickers), day)
    assert body["p"] == pytest.approx(frame.loc["KO", "p_up"])
    assert body["signal"] == frame.loc["KO", "direction"]
    assert body["session"] == "2019-03-01"


def test_a_run_trained_after_the_as_of_date_is_refused(client) -> None:
    early = (THROUGH - pd.Timedelta(days=30)).strftime("%Y-%m-%d")
    response = client.get("/forecast/AAPL", params={"as_of": early})
    assert response.status_code == 409
    assert "trained through" in response.json()["detail"]
    assert client.get("/forecasts", params={"as_of": early}).status_code == 409


def test_no_model_yet_is_503_while_the_first_model_trains_then_409(
    untrained_client, seeded_db
) -> None:
    client = untrained_client
    with closing(open_db(seeded_db)) as db:  # a live process (this one) holds the job's lock
        ModelRunRepository(db).acquire_lock("first-launch-20990101-000000", os.getpid())
    for path in ("/forecast/AAPL", "/forecasts"):
        response = client.get(path)
        assert response.status_code == 503 and response.headers["Retry-After"] == "30"
        detail = response.json()["detail"]
        assert "run first-launch-20990101-000000 is training" in detail
        assert "GET /jobs/first-launch-20990101-000000" in detail
    with closing(open_db(seeded_db)) as db:
        ModelRunRepository(db).release_lock("first-launch-20990101-000000")
    response = client.get("/forecast/AAPL")
    assert response.status_code == 409 and "no active model" in response.json()["detail"]


def test_ranked_list_by_watchlist_and_by_tickers(client, trained_db) -> None:
    body = client.get("/forecasts").json()
    names = workflows.load_watchlist(trained_db, workflows.DEFAULT_WATCHLIST)
    assert {f["ticker"] for f in body["forecasts"]} | set(body["missing"]) == set(names)
    ranked = client.get("/forecasts", params={"tickers": "ko, xom,AAPL"}).json()["forecasts"]
    assert {f["ticker"] for f in ranked} == {"KO", "XOM", "AAPL"}


def test_unknown_things_are_404(client) -> None:
    assert client.get("/forecast/ZZZZ").status_code == 404
    response = client.get("/forecasts", params={"watchlist": "no such list"})
    assert response.status_code == 404 and "no such list" in response.json()["detail"]
    assert client.get("/forecasts", params={"tickers": "AAPL,ZZZZ"}).status_code == 404
    assert client.get("/jobs/20990101-000000-abcdef").status_code == 404
    assert client.get("/portfolio/status").status_code == 404  # no paper account yet


def test_portfolio_status_after_a_step(client, trained_db) -> None:
    result = workflows.paper_step(trained_db, pd.Timestamp("2019-06-28"), ["AAPL", "KO"])
    assert result.status == "done", result.message
    body = client.get("/portfolio/status").json()
    assert body["last_step"] == "2019-06-28" and body["halted"] is False
    assert body["equity"] == pytest.approx(result.equity)
    pnl = {"session": "2019-06-28", "value": pytest.approx(result.equity - 1e6), "note": None}
    assert body["pnl_today"] == pnl  # the first step counts from the opening cash
    assert isinstance(body["positions"], list)
    checks = [g["check"] for g in body["guardrails"]]
    assert checks == ["drawdown", "live hit rate", "live ECE", "VIX", "slippage"]


def test_retrain_starts_a_job_and_a_second_is_busy(client, trained_db) -> None:
    response = client.post("/retrain", json={"n_boot": 50})
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    try:
        assert client.get(f"/jobs/{job_id}").json()["status"] == "running"
        busy = client.post("/retrain")
        assert busy.status_code == 409 and "already running" in busy.json()["detail"]
    finally:
        workflows.cancel_training(trained_db)


def test_metrics_in_the_text_format(client) -> None:
    client.get("/forecast/AAPL")
    client.get("/forecast/ZZZZ")
    response = client.get("/metrics")
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    counts = {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in families["workbench_api_requests"].samples
        if s.name == "workbench_api_requests_total"
    }
    assert counts == {
        ("/forecast/{ticker}", "GET", "200"): 1,
        ("/forecast/{ticker}", "GET", "404"): 1,
    }
    latency = {
        (s.name, s.labels.get("le")): s.value
        for s in families["workbench_api_request_duration_seconds"].samples
        if s.labels["route"] == "/forecast/{ticker}"
    }
    assert latency[("workbench_api_request_duration_seconds_bucket", "+Inf")] == 2
    assert latency[("workbench_api_request_duration_seconds_count", None)] == 2
    run = families["workbench_model_age_days"].samples[0]
    assert families["workbench_model_age_days"].type == "gauge" and run.labels["run_id"]
    assert 0 <= run.value < 1  # trained for this session
    assert families["workbench_model_active"].samples[0].value == 1
    assert families["workbench_retrain_recommended"].type == "gauge"


def test_openapi_docs(client) -> None:
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/forecast/{ticker}", "/forecasts", "/portfolio/status", "/retrain"} <= set(paths)
