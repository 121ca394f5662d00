"""A refresh killed mid-way (SIGKILL, no clean-up) leaves the previous data intact.

A child process restates the same 30 tickers x 1,000 sessions again and again, each
version's prices scaled by (1 + version / 1000); it is killed at random moments. After
every kill the store passes its integrity check and holds exactly one whole version: every
row of every ticker scaled by the same factor, no row missing, and that version is the last
one the ingestion log recorded.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine import workflows
from engine.data.schema import FetchResult
from engine.data.synthetic import make_panel
from store.db import open_db

ROOT = Path(__file__).resolve().parents[4]
TICKERS, DAYS = 30, 1000
PRICE_COLUMNS = ["open", "high", "low", "close"]

RESTATE_FOREVER = """
import sys
from engine import workflows
from engine.data.schema import FetchResult
from engine.data.synthetic import make_panel

panel = make_panel({tickers}, {days}, seed=4).prices
version = int(sys.argv[2])
while True:
    version += 1
    batch = panel.copy()
    batch[{columns}] *= 1 + version / 1000
    print(version, flush=True)
    workflows.ingest(sys.argv[1], FetchResult("synthetic", batch, True))
"""


def stored_version(db: Path, base) -> int:
    """The one version every stored row belongs to (fails on a mix or a missing row)."""
    prices = workflows.load_prices(db).set_index(["ticker", "date"]).sort_index()
    assert len(prices) == len(base), "rows missing"
    ratio = prices[PRICE_COLUMNS].to_numpy() / base[PRICE_COLUMNS].to_numpy()
    versions = np.unique(np.round((ratio[~np.isnan(ratio)] - 1) * 1000).astype(int))
    assert len(versions) == 1, f"rows of several versions: {versions[:10]}"
    return int(versions[0])


@pytest.mark.timeout(300)
def test_a_killed_refresh_leaves_one_whole_version(db_path: Path) -> None:
    base = make_panel(TICKERS, DAYS, seed=4).prices
    workflows.ingest(db_path, FetchResult("synthetic", base, True))
    base = base.set_index(["ticker", "date"]).sort_index()
    code = RESTATE_FOREVER.format(tickers=TICKERS, days=DAYS, columns=PRICE_COLUMNS)
    rng = random.Random(7)
    version, interrupted = 0, 0
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", code, str(db_path), str(version)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        started = [child.stdout.readline() for _ in range(rng.randint(1, 3))]
        assert all(started), "the child died"  # it has committed a version or two
        time.sleep(rng.uniform(0.05, 0.6))  # then dies, likely in the middle of a write
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        last_started = int((started + child.stdout.read().split())[-1])
        child.stdout.close()

        with open_db(db_path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            logged = db.execute(
                "SELECT COUNT(*) FROM ingestion_log WHERE source = 'synthetic'"
            ).fetchone()[0]
        now = stored_version(db_path, base)
        assert now == logged - 1  # the initial load is version 0
        interrupted += now < last_started  # killed between starting a version and its commit
        version = now
    assert version > 0 and interrupted >= 2
