"""First-launch benchmark: what a fresh clone's ``make run`` does before the first page,
timed step by step on a temporary store (the user's store and artifacts are never opened).

The same command path as ``make run`` (``engine.workflows.routines.first_launch.ensure_ready``):
the offline sample seeded and the default model's training started as a background job;
then the daily review, the landing page, rendered cold by Streamlit's AppTest
(``engine.bench.pages``) while the job runs, and again once the model is active. The
install (``pip install -r requirements.txt``) is not in these figures: the README quotes
it from a clean clone.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from engine import workflows
from engine.bench.pages import APP, _environment, render_pages
from engine.modeling.training import TrainConfig
from engine.settings import DB_ENV_VAR
from engine.workflows.modeling.jobs import wait_for_training
from engine.workflows.routines.first_launch import ensure_ready

TRAINING_TIMEOUT_S = 1800  # the default model takes minutes on a loaded 2-core machine


def run_first_launch_bench(*, config: TrainConfig | None = None) -> dict:
    """Seconds from an empty store to a rendered daily review (the model still training)
    and to an active default model (``config``: the model to train instead of the default
    one, for tests)."""
    with tempfile.TemporaryDirectory(prefix="bench-first-") as tmp:
        db = Path(tmp) / "store.db"
        with _environment(
            **{DB_ENV_VAR: str(db), workflows.ARTIFACTS_ENV_VAR: str(Path(tmp) / "artifacts")}
        ):
            started = time.perf_counter()
            launch = ensure_ready(db, config=config)
            launch_s = time.perf_counter() - started
            pending = render_pages(APP, repeats=1, pages=["review"])["per_page"]["review"]
            record = wait_for_training(db, launch.started, timeout_s=TRAINING_TIMEOUT_S)
            model_s = time.perf_counter() - started
            active = workflows.active_run(db)
            filled = render_pages(APP, repeats=1, pages=["review"])["per_page"]["review"]
            started = time.perf_counter()
            again = ensure_ready(db, config=config)
            rerun_s = time.perf_counter() - started
    problems = pending["problems"] + filled["problems"]
    trained = record.status == "complete" and active is not None
    return {
        "ok": not problems and trained and active.run_id == record.run_id and not again.started,
        "seed_s": round(launch.seeded_s or 0.0, 2),
        "launch_s": round(launch_s, 2),
        "first_page_s": pending["cold_s"],
        "ready_s": round(launch_s + (pending["cold_s"] or 0.0), 2),
        "model_ready_s": round(model_s, 2),
        "filled_page_s": filled["cold_s"],
        "second_launch_s": round(rerun_s, 2),
        "run_id": launch.started,
        "problems": problems,
    }
