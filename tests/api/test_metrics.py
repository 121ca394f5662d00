"""/metrics under hostile traffic: a fixed label set, a bounded size, parseable, right counts;
one registry per application; one worker."""

from __future__ import annotations

import random
import re
import string

import pytest
from prometheus_client.parser import text_string_to_metric_families

import api.__main__ as api_main
from api.app import create_app
from api.metrics import METHODS
from tests.api.conftest import TestClient

REQUESTS = "workbench_api_requests"
LATENCY = "workbench_api_request_duration_seconds"


def scrape(client: TestClient, key: str) -> tuple[str, dict]:
    """The exposition's text and its families by name (parsed by prometheus_client)."""
    response = client.get("/metrics", headers={"X-API-Key": key})
    assert response.status_code == 200, response.text
    return response.text, {f.name: f for f in text_string_to_metric_families(response.text)}


def request_counts(families: dict) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["route"], s.labels["method"], s.labels["status"]): s.value
        for s in families[REQUESTS].samples
        if s.name == f"{REQUESTS}_total"
    }


def hostile_round(client: TestClient, rng: random.Random) -> None:
    """Four requests without a key: an invented 8,000 character method on a route (405)
    and on a random path (404), GET with a random query and WebDAV's PROPFIND on random
    paths (404)."""
    method = "".join(rng.choices(string.ascii_uppercase, k=8000))
    path = "/" + "".join(rng.choices(string.ascii_lowercase + string.digits + "/", k=200))
    assert client.request(method, "/forecasts").status_code == 405
    assert client.request(method, path).status_code == 404
    assert client.get(path + "x", params={path: method[:500]}).status_code == 404
    assert client.request("PROPFIND", path + "y").status_code == 404


def test_hostile_methods_and_paths_leave_metrics_bounded(trained_db, key) -> None:
    app = create_app(trained_db)
    client, rng = TestClient(app), random.Random(21)
    for _ in range(10):
        hostile_round(client, rng)
    early_text, early = scrape(client, key)
    for _ in range(240):  # 1,000 hostile requests in all
        hostile_round(client, rng)
    text, families = scrape(client, key)

    counts = request_counts(families)
    assert {method for _, method, _ in counts} <= METHODS | {"OTHER"}
    assert counts == {  # route templates or 'unmatched', never a path sent
        ("/forecasts", "OTHER", "405"): 250,
        ("unmatched", "OTHER", "404"): 500,  # the invented method and PROPFIND alike
        ("unmatched", "GET", "404"): 250,
        ("/metrics", "GET", "200"): 1,  # the first scrape; a scrape counts after it answers
    }
    assert set(request_counts(early)) == set(counts) - {("/metrics", "GET", "200")}
    # the same series as after 40 requests: only the numbers grew (each sample a few bytes)
    series = sum(len(f.samples) for f in families.values())
    assert series - sum(len(f.samples) for f in early.values()) <= 16  # /metrics' own series
    assert len(text) < len(early_text) + 40 * series
    assert len(text) < 64_000
    assert not re.search("[A-Z]{40}", text)  # no invented method, no random path
    latency = {
        s.labels["route"]: s.value
        for s in families[LATENCY].samples
        if s.name == f"{LATENCY}_count"
    }
    assert latency == {"/forecasts": 250, "unmatched": 750, "/metrics": 1}


def test_each_application_counts_its_own_requests(trained_db, key) -> None:
    first, second = TestClient(create_app(trained_db)), TestClient(create_app(trained_db))
    for _ in range(3):
        first.get("/health")
    second.get("/health")
    assert request_counts(scrape(first, key)[1])[("/health", "GET", "200")] == 3
    assert request_counts(scrape(second, key)[1])[("/health", "GET", "200")] == 1


@pytest.mark.parametrize("workers", ["0", "2", "8"])
def test_more_than_one_worker_is_refused(workers, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        api_main.main(["--workers", workers])
    assert exit_.value.code == 2
    assert f"--workers must be 1, not {workers}" in capsys.readouterr().err


def test_one_worker_even_with_web_concurrency(trained_db, monkeypatch) -> None:
    """uvicorn reads $WEB_CONCURRENCY when not told a number: ``python -m api`` tells it 1."""
    calls = []
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    monkeypatch.setattr(api_main.uvicorn, "run", lambda app, **kw: calls.append(kw))
    api_main.main(["--db", str(trained_db)])
    assert calls == [{"host": "127.0.0.1", "port": 8000, "workers": 1}]
