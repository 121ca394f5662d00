"""Shared fixtures: temporary stores seeded from the offline sample (one with a trained
model), built once a session and copied per test, and the app on them in AppTest."""

from __future__ import annotations

import functools
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from streamlit.components.v2 import manifest_scanner
from streamlit.testing.v1 import AppTest

from engine import workflows
from engine.data.synthetic import make_panel
from engine.settings import ENVIRONMENT, SECRETS_FILE_ENV
from tests.builders import SMALL_TRAIN


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with slow tests first (the longest time limit first), then the rest by test
    count, largest first. Each xdist worker takes whole files in this order (``--dist
    loadfile --no-loadscope-reorder`` in pyproject.toml): a browser journey started last
    ran alone on one worker while the other idled, minutes of a two-worker run."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::", 1)[0], []).append(item)

    def limit(test: pytest.Item) -> float:
        marker = test.get_closest_marker("timeout")
        return float(marker.args[0]) if marker and marker.args else 0.0

    def weight(tests: list[pytest.Item]) -> tuple[bool, float, int]:
        slow = any(test.get_closest_marker("slow") for test in tests)
        return (not slow, -max(map(limit, tests)), -len(tests))

    items[:] = [item for tests in sorted(files.values(), key=weight) for item in tests]


@pytest.fixture(scope="session", autouse=True)
def _never_the_real_store(tmp_path_factory: pytest.TempPathFactory):
    """No test, nor any process a test starts, may touch data/workbench.db, the real
    models/artifacts folder or .streamlit/secrets.toml; no setting of this machine's
    environment (a signing key, a broker key, a webhook) reaches a test."""
    patch = pytest.MonkeyPatch()
    for name in ENVIRONMENT:
        patch.delenv(name, raising=False)
    patch.setenv("WORKBENCH_DB", str(tmp_path_factory.mktemp("default") / "default.db"))
    patch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path_factory.mktemp("artifacts")))
    patch.setenv(SECRETS_FILE_ENV, str(tmp_path_factory.mktemp("secrets") / "secrets.toml"))
    yield
    patch.undo()


@pytest.fixture(scope="session", autouse=True)
def _components_scanned_once():
    """Each new AppTest scans every installed package's metadata for Streamlit components
    (about a second, for none: the app uses no such component); the installed packages do
    not change during a run, so the first scan serves every AppTest of the session."""
    patch = pytest.MonkeyPatch()
    scan = manifest_scanner.scan_component_manifests
    patch.setattr(manifest_scanner, "scan_component_manifests", functools.cache(scan))
    yield
    patch.undo()


@pytest.fixture
def secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty settings file of this test's own (the settings read it; write TOML to it)."""
    path = tmp_path / "secrets" / "secrets.toml"
    path.parent.mkdir()
    monkeypatch.setenv(SECRETS_FILE_ENV, str(path))
    return path


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Path of a new, empty store."""
    return tmp_path / "store" / "test.db"


@pytest.fixture(scope="session")
def _cold_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cold") / "sample.db"
    result = workflows.ensure_seeded(path)
    assert result is not None and result.status == "ok", result
    return path


@pytest.fixture
def cold_seeded_db(_cold_template: Path, tmp_path: Path) -> Path:
    """A private copy of the store exactly as seeding leaves it: no feature cached yet."""
    path = tmp_path / "cold.db"
    shutil.copy(_cold_template, path)
    return path


@pytest.fixture(scope="session")
def _seeded_template(_cold_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # every stored ticker's feature block cached, as a day's use leaves the store: each
    # copy's first page or snapshot then reads the cache instead of building it (seconds)
    path = tmp_path_factory.mktemp("seeded") / "sample.db"
    shutil.copy(_cold_template, path)
    workflows.build_features(path)
    return path


@pytest.fixture
def seeded_db(_seeded_template: Path, tmp_path: Path) -> Path:
    """A private copy of a store built from the offline sample (watchlists + prices), its
    feature cache built."""
    path = tmp_path / "seeded.db"
    shutil.copy(_seeded_template, path)
    return path


@pytest.fixture(scope="session")
def _trained_template(_seeded_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """The sample store with a small model trained and active, built once a session."""
    path = tmp_path_factory.mktemp("trained") / "trained.db"
    shutil.copy(_seeded_template, path)
    record = workflows.train_model(path, SMALL_TRAIN)
    workflows.activate_run(path, record.run_id)
    return path, record


@pytest.fixture
def trained_db(_trained_template, tmp_path: Path):
    """A private copy of the trained sample store and of its model's bundle, so a test may
    alter either (a tampered booster, more runs, more trials) without touching another's.

    Returns the store's path and its active run's record (artifact_dir in the copy)."""
    template, record = _trained_template
    path = tmp_path / "trained.db"
    shutil.copy(template, path)
    bundle = tmp_path / "artifacts" / record.run_id
    shutil.copytree(record.artifact_dir, bundle)
    with sqlite3.connect(path) as conn:  # the copy's run points at the copied bundle
        conn.execute("UPDATE model_runs SET artifact_dir = ?", (str(bundle),))
    conn.close()
    return path, workflows.load_run(path, record.run_id)


@pytest.fixture(scope="session")
def small_panel() -> pd.DataFrame:
    """A clean synthetic panel: 4 tickers x 60 sessions ending 2022-12-30."""
    return make_panel(4, 60, seed=11).prices


@pytest.fixture(scope="session")
def market_panel() -> pd.DataFrame:
    """14 synthetic tickers x 700 sessions, full OHLCV (see tests.builders.MARKET_PARAMS)."""
    return make_panel(14, 700, seed=5).prices


ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180  # seconds a page run may take in AppTest: generous for a loaded machine


def start(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app on ``db_path`` after its landing run (the daily review)."""
    monkeypatch.setenv("WORKBENCH_DB", str(db_path))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture
def app(seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The app on the seeded sample store, no model trained."""
    return start(seeded_db, monkeypatch)


@pytest.fixture
def trained_app(trained_db, monkeypatch: pytest.MonkeyPatch):
    """The app on a private copy of the trained sample store, and its active run."""
    path, record = trained_db
    return start(path, monkeypatch), record
