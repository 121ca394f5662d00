"""Load on the REST API: 32 concurrent clients for 20 s against a real uvicorn server on
127.0.0.1 (``WORKBENCH_API_LOAD_SECONDS`` sets another length).

Each client is a thread with its own httpx client and its own key (a limit it never
reaches) cycling through forecast routes; one more client uses a key limited to 5
requests a minute. Afterwards: zero 5xx, every normal request answered 200, the limited
key refused with 429 and a Retry-After once past its limit. p50 / p99 latency are written
to test-artifacts/api_load.json.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import httpx
import pytest

from api.app import create_app
from engine import workflows
from engine.bench.api import percentile, serving, trained_store

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "test-artifacts" / "api_load.json"
SECONDS = float(os.environ.get("WORKBENCH_API_LOAD_SECONDS") or 20)
CLIENTS = 32
ROUTES = ("/forecast/AAPL", "/forecast/KO", "/forecasts?tickers=AAPL,KO,XOM,JPM", "/health")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def client_loop(url: str, key: str, deadline: float, out: list) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as client:
        i = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = client.get(ROUTES[i % len(ROUTES)])
            out.append((response.status_code, time.perf_counter() - started, response.headers))
            i += 1


def test_api_under_load(tmp_path: Path) -> None:
    path, _ = trained_store(tmp_path)
    keys = [workflows.create_api_key(path, f"load{i}", 1_000_000)[1] for i in range(CLIENTS)]
    limited = workflows.create_api_key(path, "limited", rate_limit=5)[1]
    with serving(create_app(path)) as url:
        for route in ROUTES:  # fill the caches once, as a running server would have
            assert httpx.get(url + route, headers={"X-API-Key": keys[0]}, timeout=120).is_success
        deadline = time.monotonic() + SECONDS
        results = [[] for _ in range(CLIENTS + 1)]
        threads = [
            threading.Thread(target=client_loop, args=(url, k, deadline, r))
            for k, r in zip([*keys, limited], results, strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    normal = [r for rows in results[:-1] for r in rows]
    statuses = [status for status, _, _ in normal]
    latencies = [seconds * 1000 for _, seconds, _ in normal]
    limited_rows = results[-1]
    report = {
        "seconds": SECONDS,
        "clients": CLIENTS,
        "requests": len(normal),
        "requests_per_s": round(len(normal) / SECONDS, 1),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "server_errors": sum(s >= 500 for s in statuses),
        "limited_key": {str(s): sum(r[0] == s for r in limited_rows) for s in (200, 429)},
    }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2))
    assert report["server_errors"] == 0
    assert set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}
    assert [r[0] for r in limited_rows[:5]] == [200] * 5
    refused = [r for r in limited_rows[5:] if r[0] == 429]
    assert refused and all(1 <= int(r[2]["Retry-After"]) <= 60 for r in refused)
    assert all(r[0] in (200, 429) for r in limited_rows)
