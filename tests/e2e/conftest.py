"""A real server on 127.0.0.1 over a temporary store, and Debian's chromium driven headless."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from engine.bench.first_launch import CHROMIUM_ARGS, free_port, wait_healthy

REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("WORKBENCH_SCREENSHOTS", REPO / "test-artifacts" / "screenshots"))


def chromium_path() -> str:
    """Debian's chromium (make test installs it); a missing browser fails, never skips."""
    path = os.environ.get("WORKBENCH_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail("chromium not found: `make test` installs Debian's chromium package")
    return path


SEED_TIMEOUT = 600  # seconds: building the store (the model trains in the background)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """What `make run` does on a fresh clone, over a private store: the first-launch command
    (the offline sample, and the default model's training started as a background job),
    then `streamlit run app.py` on a free local port while that job runs."""
    folder = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "WORKBENCH_DB": str(folder / "store.db"),
        "WORKBENCH_ARTIFACTS": str(folder / "artifacts"),
        "PYTHONUNBUFFERED": "1",
    }
    with (folder / "first-launch.log").open("w") as first_log:
        subprocess.run(
            [sys.executable, "-m", "engine.workflows", "seed"],
            cwd=REPO,
            env=env,
            stdout=first_log,
            stderr=subprocess.STDOUT,
            timeout=SEED_TIMEOUT,
            check=True,
        )
    port = free_port()
    log = (folder / "server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
        + ["--server.address", "127.0.0.1", "--server.port", str(port)]
        + ["--browser.gatherUsageStats", "false"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)
        yield url  # the server's output is in server.log next to the store
    finally:
        os.killpg(server.pid, 15)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield instance
        instance.close()
