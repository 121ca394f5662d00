"""Load: four readers render pages while a training job and a data refresh write, for 30 s
(``WORKBENCH_LOAD_SECONDS`` sets another length for a local run).

Readers are separate processes, each an AppTest session of the real app cycling through
pages (the same code a browser session runs). Writers: a process that ingests a new
ticker's batch and refreshes sample tickers in turn, and training jobs launched one after
another (the one still running at the end is cancelled). Afterwards: zero errors on any
page or writer, zero lost rows, batches only ever seen whole, an intact store, every
finished run loadable and the cancelled one marked failed with nothing left on disk. The
figures are written to test-artifacts/load.json.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import statistics
import sys
import time
import traceback
import types
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engine import workflows
from engine.data.schema import FetchResult
from engine.data.synthetic import make_panel
from engine.modeling.training import TrainConfig
from store.db import open_db

ROOT = Path(__file__).resolve().parents[2]
REPORT = ROOT / "test-artifacts" / "load.json"
SECONDS = float(os.environ.get("WORKBENCH_LOAD_SECONDS") or 30)
READERS = 4
PAGES = (
    "views/review.py",
    "views/signals.py",
    "views/forecasts.py",
    "views/calibration.py",
    "views/data.py",
    "views/monitor.py",
)
BATCH_DAYS = 250
TRAIN_TICKERS = ("AAPL", "KO", "XOM", "JPM")
TRAIN_JOB = TrainConfig(
    tickers=TRAIN_TICKERS,
    start=pd.Timestamp("2017-07-01"),
    as_of=pd.Timestamp("2018-12-31"),
    n_boot=50,
    train_months=9,
    test_months=3,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def load_rows(db_path: str) -> int:
    prices = workflows.load_prices(db_path)
    return int(prices["ticker"].str.startswith("LOAD").sum())


def reader(db_path: str, reader_id: int, barrier, deadline_box) -> dict:
    """Cycle through the pages until the deadline; every exception or error box counts."""
    os.environ["WORKBENCH_DB"] = db_path
    os.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.run()
    barrier.wait(timeout=300)
    deadline = deadline_box.get()
    runs, errors, seen = [], [], [load_rows(db_path)]
    page = reader_id
    while time.time() < deadline:
        name = PAGES[page % len(PAGES)]
        page += 1
        began = time.perf_counter()
        try:
            at.switch_page(name)
            at.run()
            problems = [str(e.value) for e in at.exception] + [str(e.value) for e in at.error]
            errors += [f"{name}: {p}" for p in problems]
            seen.append(load_rows(db_path))
        except Exception:  # noqa: BLE001 - every error is the finding
            errors.append(f"{name}: {traceback.format_exc()}")
        runs.append((name, time.perf_counter() - began))
    return {"runs": runs, "errors": errors, "seen": seen}


def refresher(db_path: str, barrier, deadline_box) -> dict:
    """Store a new ticker's batch, then refresh three sample tickers, until the deadline."""
    panel = make_panel(200, BATCH_DAYS, seed=9).prices
    tickers = sorted(panel["ticker"].unique())
    barrier.wait(timeout=300)
    deadline = deadline_box.get()
    batches = refreshes = 0
    errors, spans = [], []
    while time.time() < deadline and batches < len(tickers):
        began = time.perf_counter()
        try:
            batch = panel[panel["ticker"] == tickers[batches]].assign(ticker=f"LOAD{batches:03d}")
            result = workflows.ingest(db_path, FetchResult("synthetic", batch, True))
            if result.status != "ok":
                errors.append(result.message)
            batches += 1
            if batches % 3 == 0:
                refreshed = workflows.refresh_data(db_path, "sample", ["KO", "PEP", "XOM"])
                if refreshed.status != "ok":
                    errors.append(refreshed.message)
                refreshes += 1
        except Exception:  # noqa: BLE001
            errors.append(traceback.format_exc())
        spans.append(time.perf_counter() - began)
    return {"batches": batches, "refreshes": refreshes, "errors": errors, "spans": spans}


def train_until(db_path: str, deadline: float) -> dict:
    """Launch training jobs back to back. The job running at the deadline is cancelled,
    unless none has finished yet: then it may finish (each takes ~7 s alone, ten times
    that with five other busy processes on two cores)."""
    completed, failed, cancelled, errors = [], [], [], []
    while time.time() < deadline:
        run_id = workflows.launch_training(db_path, TRAIN_JOB)
        while workflows.training_status(db_path) is not None:
            if time.time() >= deadline and completed and run_id not in cancelled:
                workflows.cancel_training(db_path)
                cancelled.append(run_id)
            if time.time() >= deadline + 180:
                errors.append(f"{run_id}: still running 180 s after the deadline")
                workflows.cancel_training(db_path)
            time.sleep(0.5)
        if run_id in cancelled:
            break
        status = workflows.load_run(db_path, run_id).status
        (completed if status == "complete" else failed).append(run_id)
        if status != "complete":
            errors.append(f"{run_id}: {workflows.load_run(db_path, run_id).message}")
    return {"completed": completed, "failed": failed, "cancelled": cancelled, "errors": errors}


@pytest.fixture
def store(trained_db) -> Path:
    """The sample store with a small active model, so every page has something to show."""
    return trained_db[0]


def test_four_readers_and_two_writers_under_load(store: Path, monkeypatch) -> None:
    # Spawned workers re-run __main__ from its file; after AppTest that is app.py.
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))
    db = str(store)
    context = multiprocessing.get_context("spawn")
    with (
        context.Manager() as manager,
        ProcessPoolExecutor(READERS + 1, mp_context=context) as pool,
    ):
        barrier = manager.Barrier(READERS + 2)
        deadline_box = manager.Queue()
        readers = [pool.submit(reader, db, i, barrier, deadline_box) for i in range(READERS)]
        writer = pool.submit(refresher, db, barrier, deadline_box)
        barrier.wait(timeout=300)  # every process is up and has rendered once
        began = time.time()
        deadline = began + SECONDS
        for _ in range(READERS + 1):
            deadline_box.put(deadline)
        training = train_until(db, deadline)
        reads = [f.result(timeout=300) for f in readers]
        writes = writer.result(timeout=300)
        elapsed = time.time() - began

    # zero errors anywhere
    assert [r["errors"] for r in reads] == [[]] * READERS
    assert writes["errors"] == [] and training["errors"] == []
    # zero lost rows, and a reader only ever saw whole batches, never fewer than before
    assert load_rows(db) == writes["batches"] * BATCH_DAYS
    for r in reads:
        assert all(n % BATCH_DAYS == 0 for n in r["seen"])
        assert r["seen"] == sorted(r["seen"])
    log = workflows.load_ingestion_log(db, limit=10_000)
    assert int(log["source"].eq("synthetic").sum()) == writes["batches"]
    with open_db(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # every finished run loads (hash-checked); a cancelled one left nothing behind, unless
    # its job had registered it before the cancel came: then it is whole and loads
    for run_id in training["completed"]:
        workflows.load_model(db, run_id)
    root = workflows.artifacts_root()
    for run_id in training["cancelled"]:
        runs = workflows.load_runs(db).set_index("run_id")["status"]
        assert not list(root.glob(f".tmp-{run_id}*"))
        if runs.get(run_id) == "complete":
            workflows.load_model(db, run_id)
            continue
        assert runs.get(run_id, "never started") in ("failed", "never started")
        assert not (root / run_id).exists()
    assert writes["batches"] > 0 and training["completed"]

    times = [t for r in reads for _, t in r["runs"]]
    report = {
        "seconds": SECONDS,
        "seconds_with_last_training_job": round(elapsed, 1),
        "readers": READERS,
        "writers": 2,
        "page_runs": len(times),
        "page_runs_per_reader": [len(r["runs"]) for r in reads],
        "page_s_median": round(statistics.median(times), 2),
        "page_s_p95": round(sorted(times)[int(0.95 * (len(times) - 1))], 2),
        "page_s_max": round(max(times), 2),
        "batches_stored": writes["batches"],
        "rows_stored": writes["batches"] * BATCH_DAYS,
        "sample_refreshes": writes["refreshes"],
        "write_s_median": round(statistics.median(writes["spans"]), 2),
        "training_runs_completed": len(training["completed"]),
        "training_runs_cancelled": len(training["cancelled"]),
        "errors": 0,
        "lost_rows": 0,
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))
