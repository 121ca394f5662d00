"""A sample store with a small model trained and made active, once per session; each test
gets its own copy of the store (the bundle under the session's artifacts is shared: read
only) and a client over it with one key."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from api.app import create_app
from engine import workflows
from engine.bench.api import trained_store

with warnings.catch_warnings():  # starlette's note about httpx, not about this code
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="session")
def _trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The benchmark's store: the sample, BENCH_TRAIN active (and the benchmark's key)."""
    return Path(trained_store(tmp_path_factory.mktemp("api"))[0])


@pytest.fixture
def trained_db(_trained_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "trained.db"
    shutil.copy(_trained_template, path)
    return path


@pytest.fixture
def key(trained_db: Path) -> str:
    return workflows.create_api_key(trained_db, "tests")[1]


@pytest.fixture
def client(trained_db: Path, key: str) -> TestClient:
    """A client over the trained store sending ``key``."""
    return TestClient(create_app(trained_db), headers={"X-API-Key": key})


@pytest.fixture
def untrained_client(seeded_db: Path) -> TestClient:
    """A client with one key over the sample store, which has no model run."""
    key = workflows.create_api_key(seeded_db, "tests")[1]
    return TestClient(create_app(seeded_db), headers={"X-API-Key": key})
