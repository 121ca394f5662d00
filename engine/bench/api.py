"""API benchmark: GET /forecast/{ticker} through a real uvicorn server on 127.0.0.1.

Setup, timed apart: the offline sample seeded into a temporary store, the small model of
the pages benchmark (``BENCH_TRAIN``) trained into a temporary artifacts folder and made
active, one API key without a practical rate limit, and the server started in a thread.
The first request (which loads the bundle, the snapshot and the forecasts into the API's
cache) is reported apart as ``cold_ms``; then ``requests`` sequential requests from one
HTTP client over keep-alive are timed, client side (the warm path: the data version, the
active run and the key are looked up in the store every time; the forecasts come from
the cache keyed by run, data version, as-of date and tickers). Goal: p99 < 200 ms.

The api package and uvicorn are imported inside the functions, so importing the engine
does not load them.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from engine import workflows
from engine.bench.pages import BENCH_TRAIN, _environment

GOAL_P99_MS = 200.0
TICKER = "AAPL"


def trained_store(folder: Path) -> tuple[str, str]:
    """A sample store under ``folder`` with ``BENCH_TRAIN`` trained and active, and an
    API key with a limit no benchmark reaches; returns the store's path and the key.
    The caller points $WORKBENCH_ARTIFACTS at a folder of its own first."""
    path = str(folder / "bench.db")
    workflows.ensure_seeded(path)
    workflows.activate_run(path, workflows.train_model(path, BENCH_TRAIN).run_id)
    return path, workflows.create_api_key(path, "bench", rate_limit=10_000_000)[1]


@contextmanager
def serving(app) -> Iterator[str]:
    """``app`` under uvicorn in a thread on a free loopback port; yields its base URL."""
    import uvicorn  # noqa: PLC0415

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``values``, linear between ranks."""
    return statistics.quantiles(values, n=1000, method="inclusive")[round(q * 1000) - 1]


def run_api_bench(requests: int = 1000) -> dict:
    import httpx  # noqa: PLC0415

    from api.app import create_app  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="api-bench-") as folder:
        root = Path(folder)
        with _environment(WORKBENCH_ARTIFACTS=str(root / "artifacts")):
            started = time.perf_counter()
            path, key = trained_store(root)
            setup_s = time.perf_counter() - started
            with (
                serving(create_app(path)) as url,
                httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client,
            ):
                started = time.perf_counter()
                first = client.get(f"/forecast/{TICKER}")
                cold_ms = (time.perf_counter() - started) * 1000
                times, failures = [], int(first.status_code != 200)
                for _ in range(requests):
                    started = time.perf_counter()
                    response = client.get(f"/forecast/{TICKER}")
                    times.append((time.perf_counter() - started) * 1000)
                    failures += response.status_code != 200
    p99 = percentile(times, 0.99)
    return {
        "requests": requests,
        "p50_ms": round(percentile(times, 0.5), 2),
        "p99_ms": round(p99, 2),
        "max_ms": round(max(times), 2),
        "cold_ms": round(cold_ms, 1),
        "failures": failures,
        "setup_s": round(setup_s, 1),
        "ok": failures == 0,
        "meets_goal": p99 < GOAL_P99_MS,
    }
