"""Shared fixtures: temporary stores, one of them seeded from the offline sample."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.data.synthetic import make_panel
from engine.settings import ENVIRONMENT, SECRETS_FILE_ENV


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
def _seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("seeded") / "sample.db"
    result = workflows.ensure_seeded(path)
    assert result is not None and result.status == "ok", result
    return path


@pytest.fixture
def seeded_db(_seeded_template: Path, tmp_path: Path) -> Path:
    """A private copy of a store built from the offline sample (watchlists + prices)."""
    path = tmp_path / "seeded.db"
    shutil.copy(_seeded_template, path)
    return path


@pytest.fixture(scope="session")
def small_panel() -> pd.DataFrame:
    """A clean synthetic panel: 4 tickers x 60 sessions ending 2022-12-30."""
    return make_panel(4, 60, seed=11).prices


@pytest.fixture(scope="session")
def market_panel() -> pd.DataFrame:
    """14 synthetic tickers x 700 sessions, full OHLCV (see tests.builders.MARKET_PARAMS)."""
    return make_panel(14, 700, seed=5).prices
