"""First-launch benchmark: what a fresh clone's ``make run`` does before the first page,
timed step by step on a temporary store (the user's store and artifacts are never opened).

The same command path as ``make run`` (``engine.workflows.first_launch.ensure_ready``):
the offline sample seeded, the default model trained and made active; then the daily
review, the landing page, rendered cold by Streamlit's AppTest (``engine.bench.pages``).
The install (``pip install -r requirements.txt``) is not in these figures: the README
quotes it from a clean clone.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from engine import workflows
from engine.bench.pages import APP, _environment, render_pages
from engine.modeling.training import TrainConfig
from engine.settings import DB_ENV_VAR
from engine.workflows.first_launch import ensure_ready


def run_first_launch_bench(*, config: TrainConfig | None = None) -> dict:
    """Seconds from an empty store to a rendered daily review with forecasts (``config``:
    the model to train instead of the default one, for tests)."""
    with tempfile.TemporaryDirectory(prefix="bench-first-") as tmp:
        db = Path(tmp) / "store.db"
        with _environment(
            **{DB_ENV_VAR: str(db), workflows.ARTIFACTS_ENV_VAR: str(Path(tmp) / "artifacts")}
        ):
            started = time.perf_counter()
            launch = ensure_ready(db, config=config)
            ready_s = time.perf_counter() - started
            rendered = render_pages(APP, repeats=1, pages=["review"])
            started = time.perf_counter()
            again = ensure_ready(db, config=config)
            rerun_s = time.perf_counter() - started
    page = rendered["per_page"]["review"]
    return {
        "ok": rendered["ok"] and launch.run_id is not None and again.trained_s is None,
        "seed_s": round(launch.seeded_s or 0.0, 2),
        "train_s": round(launch.trained_s or 0.0, 2),
        "first_page_s": page["cold_s"],
        "ready_s": round(ready_s + (page["cold_s"] or 0.0), 2),
        "second_launch_s": round(rerun_s, 2),
        "run_id": launch.run_id,
        "problems": page["problems"],
    }
