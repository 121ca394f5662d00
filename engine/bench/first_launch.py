"""First-launch benchmark: what a fresh clone's ``make run`` does before the first page,
timed step by step on a temporary store (the user's store and artifacts are never opened).

The same command path as ``make run`` (``engine.workflows.routines.first_launch.ensure_ready``):
the offline sample seeded and the default model's training started as a background job;
then the daily review, the landing page, rendered cold by Streamlit's AppTest
(``engine.bench.pages``) while the job runs, and again once the model is active. The
install (``pip install -r requirements.txt``) is not in these figures: the README quotes
it from a clean clone.

``run_make_run_bench`` (``python -m engine.bench make_run``) times it as a user sees it:
the real ``make run`` on an installed clone, a fresh store in a temporary folder and a free
port, until Debian's chromium shows the daily review's title.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
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


REPO = Path(__file__).resolve().parents[2]
# Debian's chromium, headless, as the browser tests (tests/e2e) drive it too
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
FIRST_PAGE_TIMEOUT_S = 300


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, timeout_s: float = 240) -> None:
    """Poll the Streamlit server's health endpoint at ``url`` until it answers "ok" (a
    user reloading the tab); RuntimeError when ``server`` exits first, TimeoutError after
    ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"no healthy server at {url} within {timeout_s:g} s")


def _stop_training(db: Path, timeout_s: float = 60) -> None:
    """Cancel the job ``make run`` started, and wait until it has ended."""
    workflows.cancel_training(db)
    deadline = time.monotonic() + timeout_s
    while workflows.training_status(db) is not None and time.monotonic() < deadline:
        time.sleep(0.2)


def _time_one_make_run(browser, folder: Path, repo: Path) -> float:
    """Seconds from starting ``make run`` in ``repo`` on a fresh store in ``folder`` until
    the daily review's title is on the screen; the server and the training job are stopped
    after."""
    db, port = folder / "store.db", free_port()
    env = {
        **os.environ,
        DB_ENV_VAR: str(db),
        workflows.ARTIFACTS_ENV_VAR: str(folder / "artifacts"),
    }
    venv = Path(sys.prefix)
    # -o: the installed clone's stamp counts as current (the install is not timed)
    command = ["make", "-o", f"{venv}/.runtime-installed", "run", f"VENV={venv}", f"PORT={port}"]
    url = f"http://127.0.0.1:{port}"
    page = browser.new_page()
    with (folder / "make-run.log").open("w") as log:
        started = time.monotonic()
        make = subprocess.Popen(
            command, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_healthy(url, make, FIRST_PAGE_TIMEOUT_S)
            page.goto(url)
            heading = page.get_by_role("heading", name="Daily review", exact=True)
            heading.wait_for(timeout=FIRST_PAGE_TIMEOUT_S * 1000)
            return time.monotonic() - started
        finally:
            page.close()
            os.killpg(make.pid, signal.SIGTERM)
            make.wait(timeout=30)
            _stop_training(db)


def run_make_run_bench(*, repeats: int = 3, repo: Path = REPO) -> dict:
    """Seconds from ``make run`` on an installed clone with a fresh store (a temporary
    folder, a free port) until Debian's chromium shows the daily review's first content
    (its title), ``repeats`` times; the install is not in the figure. ``repo``: another
    checkout to time (the code before a change), run with this environment."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (a dev dependency)

    runs = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            for _ in range(repeats):
                with tempfile.TemporaryDirectory(prefix="bench-make-run-") as tmp:
                    runs.append(round(_time_one_make_run(browser, Path(tmp), repo), 2))
        finally:
            browser.close()
    return {
        "ok": True,
        "make_run_to_first_page_s": statistics.median(runs),
        "runs_s": runs,
    }
