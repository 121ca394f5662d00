"""Experiment tracking in MLflow: a training run, its tuning trials and a zoo's members read
back from a local store with the values the workbench holds; nothing happens without a
URI, and a store that fails never fails training."""

from __future__ import annotations

import json
import logging
import math
import socket
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.modeling.learners import LearnerParams
from engine.modeling.records import read_record
from engine.modeling.tuning import TrialOutcome, TuningResult
from engine.settings import build_settings
from engine.studies.zoo import ZooConfig, ZooResult
from engine.workflows.modeling import tracking
from tests.builders import SMALL_TRAIN
from tests.conftest import start

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch):
    """Set the tracking URI (and experiment) as a user would, through the environment;
    MLflow's HTTP limits restored after the test."""
    for name, value in tracking.HTTP_LIMITS.items():
        monkeypatch.setenv(name, value)

    def configure(uri: str, experiment: str = "tests") -> str:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", experiment)
        return uri

    return configure


@pytest.fixture
def file_store(tmp_path: Path, configure, monkeypatch: pytest.MonkeyPatch) -> str:
    """A local file store (MLflow 3 asks for its own opt-in to use one)."""
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    return configure((tmp_path / "mlruns").as_uri())


def read_back(uri: str, record: tracking.TrackingRecord):
    client = mlflow.MlflowClient(tracking_uri=uri)
    return client, client.get_run(record.mlflow_run_id)


def children(client, parent) -> dict:
    found = client.search_runs(
        [parent.info.experiment_id], f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
    )
    return {run.info.run_name: run for run in found}


def test_a_training_run_is_logged_with_its_exact_values(trained_db, file_store) -> None:
    db, record = trained_db
    folder = Path(record.artifact_dir)
    bundle = {path.name for path in folder.iterdir()}  # the bundle, any analyses kept with it
    logged = tracking.track_training_run(record.run_id, folder)
    assert logged.tracked and logged.experiment == "tests"
    client, run = read_back(file_store, logged)
    params, metrics, tags = run.data.params, run.data.metrics, run.data.tags
    assert run.info.run_name == record.run_id and run.info.status == "FINISHED"
    assert params["learner.learner"] == "xgboost" and params["learner.max_depth"] == "2"
    assert json.loads(params["tickers"]) == list(SMALL_TRAIN.tickers)
    assert params == tracking.flatten_params(record.params)
    auc = record.metrics["model"]["auc"]
    assert (metrics["model.auc"], metrics["model.auc_low"], metrics["model.auc_high"]) == (
        auc["estimate"],
        auc["low"],
        auc["high"],
    )
    assert metrics["calibrated.ece_high"] == record.metrics["calibrated"]["ece"]["high"]
    assert metrics["folds"] == record.metrics["folds"] == 7
    nan_spread = record.metrics["cross_section"]["spread"]["estimate"]
    assert math.isnan(nan_spread) and math.isnan(metrics["cross_section.spread"])  # stays NaN
    assert tags["workbench.run_id"] == record.run_id
    assert tags["workbench.data_hash"] == record.data_hash
    assert tags["workbench.trained_through"] == record.trained_through
    artifacts = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "bundle")}
    assert artifacts == bundle and {*record.files, "manifest.json"} <= artifacts
    assert workflows.load_tracking(db, record.run_id) == logged
    assert "Logged to MLflow as run" in logged.describe()


def test_tuning_trials_are_nested_under_their_training_run(trained_db, file_store) -> None:
    _, record = trained_db
    outcomes = (
        TrialOutcome(
            0, {"max_depth": 3, "learning_rate": 0.05}, (0.01, 0.02), 0.02, False, np.zeros(0)
        ),
        TrialOutcome(
            1, {"max_depth": 5, "learning_rate": 0.1}, (-0.03,), math.nan, True, np.zeros(0)
        ),
    )
    study = TuningResult("tune-x", "rank_ic", 0.02, LearnerParams(), outcomes)
    logged = tracking.track_training_run(record.run_id, Path(record.artifact_dir), study)
    client, parent = read_back(file_store, logged)
    trials = children(client, parent)
    assert sorted(trials) == ["tune-x #0", "tune-x #1"]
    first, pruned = trials["tune-x #0"], trials["tune-x #1"]
    assert first.data.params == {
        "max_depth": "3",
        "learning_rate": "0.05",
        "objective_name": "rank_ic",
    }
    assert first.data.metrics["objective"] == 0.02
    assert math.isnan(pruned.data.metrics["objective"]) and pruned.data.tags["workbench.pruned"]
    history = client.get_metric_history(first.info.run_id, "objective_by_fold")
    assert [(m.step, m.value) for m in history] == [(0, 0.01), (1, 0.02)]


def test_zoo_members_are_nested_under_their_study(tmp_path, file_store) -> None:
    config = ZooConfig(("xgboost", "linear"), ensembles=False)
    table = pd.DataFrame(
        {
            "model": ["xgboost", "linear"],
            "rank_ic": [0.031, -0.004],
            "rank_ic_low": [0.002, -0.02],
            "rank_ic_high": [0.06, 0.012],
            "net_sharpe": [0.8, np.nan],
            "days": [250, 250],
        }
    )
    result = ZooResult(table, pd.DataFrame(), {}, {})
    logged = tracking.track_zoo_study(7, config, result)
    client, parent = read_back(file_store, logged)
    assert parent.info.run_name == "zoo-7" and parent.data.tags["workbench.study_id"] == "7"
    assert json.loads(parent.data.params["learners"]) == ["xgboost", "linear"]
    members = children(client, parent)
    assert members["xgboost"].data.metrics == {
        "rank_ic": 0.031,
        "rank_ic_low": 0.002,
        "rank_ic_high": 0.06,
        "net_sharpe": 0.8,
        "days": 250.0,
    }
    assert math.isnan(members["linear"].data.metrics["net_sharpe"])


# MLflow 3.17 configures its SQLAlchemy mappers with a loader SQLAlchemy deprecates
@pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy")
def test_a_sqlite_store_keeps_its_artifacts_beside_the_database(
    trained_db, tmp_path, configure, monkeypatch
) -> None:
    """MLflow's recommended local store; its artifacts are not put under the working
    directory (MLflow's default, ./mlruns)."""
    monkeypatch.chdir(tmp_path)
    _, record = trained_db
    uri = configure(f"sqlite:///{tmp_path / 'tracking' / 'mlflow.db'}")
    (tmp_path / "tracking").mkdir()
    logged = tracking.track_training_run(record.run_id, Path(record.artifact_dir))
    assert logged.tracked
    _, run = read_back(uri, logged)
    assert run.info.artifact_uri.startswith((tmp_path / "tracking" / "mlartifacts").as_uri())
    assert (Path(run.info.artifact_uri.removeprefix("file://")) / "bundle/manifest.json").is_file()
    assert not (tmp_path / "mlruns").exists()


def test_without_a_uri_nothing_is_imported_or_written(trained_db, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "mlflow", None)  # any import of mlflow would fail
    db, record = trained_db
    assert tracking.track_training_run(record.run_id, Path(record.artifact_dir)) is None
    assert tracking.track_zoo_study(1, ZooConfig(("xgboost",), ensembles=False), None) is None
    assert not (Path(record.artifact_dir) / tracking.TRACKING_RECORD).exists()
    assert workflows.load_tracking(db, record.run_id) is None
    assert workflows.load_tracking(db, "no-such-run") is None


def test_a_uri_without_mlflow_installed_says_so_once(trained_db, configure, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "mlflow", None)
    configure("sqlite:///unused.db")
    _, record = trained_db
    with caplog.at_level(logging.WARNING, logger=tracking.__name__):
        logged = tracking.track_training_run(record.run_id, Path(record.artifact_dir))
    assert logged.warning == tracking.NOT_INSTALLED and logged.mlflow_run_id is None
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert "make tracking" in caplog.text


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_server_leaves_training_complete_with_a_warning(
    seeded_db, configure, caplog
) -> None:
    port = closed_port()
    configure(f"http://analyst:Hunter2Secret@127.0.0.1:{port}")
    with caplog.at_level(logging.WARNING, logger=tracking.__name__):
        record = workflows.train_model(seeded_db, SMALL_TRAIN)
    assert record.status == "complete"
    logged = workflows.load_tracking(seeded_db, record.run_id)
    assert not logged.tracked and "Connection refused" in logged.warning
    assert logged.uri == f"http://127.0.0.1:{port}"
    assert "MLflow tracking failed" in logged.describe()
    assert "Hunter2Secret" not in logged.warning + caplog.text + logged.describe()
    assert [r.name for r in caplog.records if r.levelno >= logging.WARNING].count(
        tracking.__name__
    ) == 1


def test_a_file_store_without_mlflows_opt_in_is_a_warning(trained_db, tmp_path, configure):
    """MLflow 3 refuses a file store unless MLFLOW_ALLOW_FILE_STORE is set: said, not raised."""
    _, record = trained_db
    configure((tmp_path / "mlruns").as_uri())
    logged = tracking.track_training_run(record.run_id, Path(record.artifact_dir))
    assert "MLFLOW_ALLOW_FILE_STORE" in logged.warning


def test_a_failure_midway_marks_the_mlflow_run_failed(tmp_path, file_store) -> None:
    folder = tmp_path / "no-bundle"  # no manifest: the run is created, then logging fails
    folder.mkdir()
    logged = tracking.track_training_run("ghost", folder)
    assert "manifest.json" in logged.warning and logged.mlflow_run_id is not None
    _, run = read_back(file_store, logged)
    assert run.info.status == "FAILED" and run.data.tags["workbench.run_id"] == "ghost"
    kept = (folder / tracking.TRACKING_RECORD).read_bytes()
    assert read_record(tracking.TrackingRecord, kept) == logged


def test_the_settings_take_the_uri_from_mlflows_variable_or_the_file(tmp_path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[tracking]\ntracking_uri = "sqlite:///a.db"\nexperiment_name = "e"\n')
    environ = {"WORKBENCH_SECRETS": str(secrets)}
    from_file = build_settings(environ).tracking
    assert from_file.tracking_uri.get_secret_value() == "sqlite:///a.db"
    assert from_file.experiment_name == "e"
    environ["MLFLOW_TRACKING_URI"] = "https://token@mlflow.example"
    from_variable = build_settings(environ).tracking
    assert from_variable.tracking_uri.get_secret_value() == "https://token@mlflow.example"
    assert "token" not in repr(from_variable)
    assert build_settings({}).tracking.tracking_uri is None


def test_flattening_keeps_intervals_and_drops_tables() -> None:
    scores = {
        "model": {"auc": {"estimate": 0.55, "low": 0.51, "high": 0.59}, "n": 100},
        "per_regime": [{"auc": 0.5}],
        "verdict": "no skill",
        "active": True,
        "missing": None,
    }
    assert tracking.flatten_metrics(scores) == {
        "model.auc": 0.55,
        "model.auc_low": 0.51,
        "model.auc_high": 0.59,
        "model.n": 100.0,
    }
    config = {"label": {"horizon": 5, "kind": "relative"}, "tickers": ["A", "B"], "as_of": None}
    assert tracking.flatten_params(config) == {
        "label.horizon": "5",
        "label.kind": "relative",
        "tickers": '["A", "B"]',
        "as_of": "null",
    }
    assert tracking.shown_uri("https://u:p@host:5000/x?token=t#f") == "https://host:5000/x"


def test_the_training_page_shows_where_the_run_went(trained_db, file_store, monkeypatch) -> None:
    db, record = trained_db
    logged = tracking.track_training_run(record.run_id, Path(record.artifact_dir))
    page = start(db, monkeypatch)
    page.session_state["training.launched"] = record.run_id
    page.switch_page("views/training.py").run()
    assert not page.exception, [e.value for e in page.exception]
    assert logged.describe() in [c.value for c in page.caption]
