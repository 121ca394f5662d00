"""Store benchmark: ingest a synthetic panel through the real path, then read it back.

Peer, in the same process: sqlite-utils' ``Table.upsert_all`` of the same rows into an
empty table with the same primary key (no quality gate, no log), the library's own bulk
path.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlite_utils import Database

from engine.data.quality import check_prices
from engine.data.schema import FetchResult
from engine.data.synthetic import make_panel
from engine.workflows import ingest, load_prices


def _peer_upsert_all(path: Path, prices) -> float:
    """Seconds for sqlite-utils to upsert the same rows into an empty table."""
    records = prices.assign(
        date=np.datetime_as_string(prices["date"].to_numpy(dtype="datetime64[D]"), unit="D")
    ).to_dict("records")
    db = Database(path)
    started = time.perf_counter()
    db["prices"].upsert_all(records, pk=("ticker", "date"), batch_size=1000)
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def run_store_bench(n_tickers: int = 155, n_days: int = 1260, *, repeats: int = 50) -> dict:
    """Time ingest (gate + transactional write + log), one-ticker reads and a full read.

    ``ingest_cpu_s`` is the ingest's process CPU time: other processes' load hardly moves
    it, so it compares sizes (``--tickers``) on a busy machine."""
    panel = make_panel(n_tickers, n_days, seed=7)
    prices = panel.prices
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        started = time.perf_counter()
        gate = check_prices(prices)
        gate_s = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        result = ingest(db_path, FetchResult("synthetic", prices, True))
        ingest_s, ingest_cpu_s = time.perf_counter() - started, time.process_time() - cpu
        if result.status != "ok":
            raise RuntimeError(f"benchmark ingest did not store everything: {result.message}")
        tickers = sorted(prices["ticker"].unique())
        one = []
        for i in range(repeats):  # each read opens the store, as a page or script does
            started = time.perf_counter()
            rows_one = load_prices(db_path, [tickers[i % len(tickers)]])
            one.append(time.perf_counter() - started)
        started = time.perf_counter()
        everything = load_prices(db_path)
        read_all_s = time.perf_counter() - started
        peer_s = _peer_upsert_all(Path(tmp) / "peer.db", prices)
    return {
        "rows": int(result.rows),
        "tickers": n_tickers,
        "days": n_days,
        "ingest_s": round(ingest_s, 4),
        "ingest_cpu_s": round(ingest_cpu_s, 4),
        "gate_s": round(gate_s, 4),
        "gate_findings": len(gate.findings),
        "read_one_ms": round(1000 * statistics.median(one), 3),
        "read_one_rows": len(rows_one),
        "read_all_s": round(read_all_s, 4),
        "read_all_rows": len(everything),
        "peer": "sqlite-utils Table.upsert_all",
        "peer_ingest_s": round(peer_s, 4),
        "ingest_ratio_vs_peer": round(ingest_s / peer_s, 3),
    }
