"""A GRU run trained and tuned through the workflows with torch (``make test-deep``): its
bundle imports into another store holding the same prices and forecasts there exactly as
where it was trained, with onnxruntime (the fixture the CI serving tests import is made
the same way: ``tests/deep_bundle.py``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.modeling.tuning import TuningConfig
from tests.deep_bundle import DEEP_TRAIN

pytest.importorskip("torch", reason="the sequence learners train with torch: make deep")
pytestmark = [pytest.mark.deep, pytest.mark.timeout(1800)]


def test_a_tuned_gru_run_imports_elsewhere_and_forecasts_the_same(
    seeded_db, tmp_path, monkeypatch
) -> None:
    where = tmp_path / "colab.db"
    where.write_bytes(seeded_db.read_bytes())
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "colab-artifacts"))
    tuning = TuningConfig(n_trials=2, startup_trials=1)
    run = workflows.train_model(where, DEEP_TRAIN, tuning=tuning)
    assert run.metrics["tuning"]["n_trials"] == 2
    assert (Path(run.artifact_dir) / "gru.onnx").is_file()
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "artifacts"))
    imported = workflows.import_bundle(seeded_db, Path(run.artifact_dir)).run
    day, tickers = pd.Timestamp("2019-03-01"), list(DEEP_TRAIN.tickers)
    here = workflows.sized_forecasts(seeded_db, tickers, day, run_id=imported.run_id)
    there = workflows.sized_forecasts(where, tickers, day, run_id=run.run_id)
    pd.testing.assert_series_equal(here["p_up"], there["p_up"])
    assert here["p_up"].between(0, 1).all()
