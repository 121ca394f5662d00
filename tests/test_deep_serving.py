"""A network trained with torch (the committed GRU bundle: ``tests/deep_bundle.py``) is
imported, then served by the workflows, the API and the app with onnxruntime alone: torch
cannot be imported while they run (CI has no torch at all)."""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from api.app import create_app
from engine import workflows
from engine.features import feature_columns
from engine.workflows.data.snapshot import build_snapshot
from tests.conftest import start
from tests.deep_bundle import DEEP_TRAIN, FIXTURE

with warnings.catch_warnings():  # starlette's note about httpx, not about this code
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TICKERS = list(DEEP_TRAIN.tickers)
DAY = pd.Timestamp("2019-03-01")


@pytest.fixture
def deep_db(seeded_db, tmp_path, monkeypatch):
    """The sample store with the GRU bundle imported (under this test's artifacts root) and
    active; torch made unimportable: any ``import torch`` while serving raises (a test that
    ran earlier in this process may have imported it; CI has none at all)."""
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "artifacts"))
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError):
        import torch  # noqa: F401, PLC0415
    run = workflows.import_bundle(seeded_db, FIXTURE).run
    workflows.activate_run(seeded_db, run.run_id)
    return seeded_db, run


def test_the_bundle_is_a_gru_that_torch_trained() -> None:
    manifest = json.loads((FIXTURE / "manifest.json").read_text())
    assert manifest["architecture"] == "gru"
    assert manifest["params"]["learner"] == "gru" and manifest["params"]["families"] == ["path"]
    assert b"pytorch" in (FIXTURE / "gru.onnx").read_bytes()  # the exporter's producer name


def test_the_workflows_serve_it_with_reasons_that_add_up(deep_db) -> None:
    db, run = deep_db
    model, record = workflows.load_model(db)
    assert record.run_id == run.run_id and type(model).__name__ == "GRULearner"
    rows = build_snapshot(db, TICKERS, DAY).latest_features(("path",))
    explained = model.explained_predictions(rows)
    assert len(explained.score) == len(TICKERS) and np.isfinite(explained.score).all()
    assert np.ptp(explained.score) > 0  # a ranking, not one number for every stock
    np.testing.assert_allclose(explained.contributions.sum(axis=1), explained.score, atol=1e-9)
    assert list(explained.contributions.columns) == [*feature_columns(["path"]), "bias"]
    frame = workflows.sized_forecasts(db, TICKERS, DAY)
    assert sorted(frame.index) == sorted(TICKERS) and frame["p_up"].between(0, 1).all()
    assert (frame["run_id"] == run.run_id).all()


def test_the_api_serves_it(deep_db) -> None:
    db, run = deep_db
    key = workflows.create_api_key(db, "tests")[1]
    client = TestClient(create_app(db), headers={"X-API-Key": key})
    body = client.get("/forecast/KO", params={"as_of": "2019-03-01"}).json()
    frame = workflows.sized_forecasts(db, TICKERS, DAY)
    assert body["run_id"] == run.run_id and body["p"] == pytest.approx(frame.loc["KO", "p_up"])
    assert 1 <= len(body["reasons"]) <= 5
    listing = client.get("/forecasts")
    assert listing.status_code == 200 and len(listing.json()["forecasts"]) >= len(TICKERS)


def test_the_app_serves_it(deep_db, monkeypatch) -> None:
    db, run = deep_db
    at = start(db, monkeypatch)
    at.switch_page("views/forecasts.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert len(table) == 20 and table["p_up"].between(0, 1).all()
    assert run.run_id in " ".join(c.value for c in at.caption)
