"""Two processes writing and reading the same store at once get no lock error."""

from __future__ import annotations

import multiprocessing
import sys
import time
import traceback
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from engine import workflows
from engine.data.schema import FetchResult
from engine.data.synthetic import make_panel

ROUNDS = 25
TICKERS_PER_BATCH = 3
DAYS = 250


def worker(db_path: str, worker_id: int, barrier) -> dict:
    """Alternate a write batch and full reads; return timings and any errors."""
    panel = make_panel(TICKERS_PER_BATCH * ROUNDS, DAYS, seed=worker_id).prices
    panel = panel.assign(ticker=f"W{worker_id}_" + panel["ticker"])
    tickers = sorted(panel["ticker"].unique())
    errors, spans = [], []
    barrier.wait(timeout=120)  # both interpreters are up: start together
    for i in range(ROUNDS):
        batch = panel[
            panel["ticker"].isin(tickers[i * TICKERS_PER_BATCH : (i + 1) * TICKERS_PER_BATCH])
        ]
        began = time.time()
        try:
            result = workflows.ingest(db_path, FetchResult("synthetic", batch, True))
            if result.status != "ok":
                errors.append(result.message)
            workflows.load_prices(db_path)
            workflows.load_freshness(db_path, batch["date"].max())
        except Exception:  # noqa: BLE001 - every error is the finding
            errors.append(traceback.format_exc())
        spans.append((began, time.time()))
    return {"errors": errors, "spans": spans}


def test_two_processes_write_and_read_without_lock_errors(db_path: Path, monkeypatch) -> None:
    # Spawned workers re-run __main__ from its file; after AppTest that is app.py.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    workflows.seed_watchlists(db_path)  # creates and migrates the store first
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(2, mp_context=context) as pool:
        barrier = manager.Barrier(2)
        futures = [pool.submit(worker, str(db_path), i, barrier) for i in (1, 2)]
        results = [f.result(timeout=240) for f in futures]
    assert [r["errors"] for r in results] == [[], []]
    first, second = (r["spans"] for r in results)
    overlaps = sum(a0 < b1 and b0 < a1 for a0, a1 in first for b0, b1 in second)
    assert overlaps > 0, "the two workers never ran at the same time"
    prices = workflows.load_prices(db_path)
    assert len(prices) == 2 * ROUNDS * TICKERS_PER_BATCH * DAYS  # no row lost
    assert len(workflows.load_ingestion_log(db_path)) == 2 * ROUNDS
