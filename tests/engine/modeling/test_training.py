"""Training through the store: registered runs, the lock, failures, tampering, and a
forecast at t that does not depend on whether later data exists."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyarrow import feather

from engine import workflows
from engine.data.sample import load_sample_prices
from engine.data.schema import FetchResult
from engine.modeling import signing
from engine.modeling.artifacts import PREDICTIONS, ArtifactError, manifest_document, sha256_file
from engine.modeling.explain import NO_RELATIVE_REASON
from engine.modeling.learners import LearnerParams
from engine.modeling.training import TrainConfig
from engine.workflows.modeling import runs as modeling_runs
from store.db import StoreError, open_db
from store.models import ModelRunRepository, TrainingBusyError
from tests.builders import unchanged

TICKERS = ("AAPL", "JPM", "KO", "XOM", "MSFT", "PG")
AS_OF = pd.Timestamp("2017-06-30")


def small_config(**changes) -> TrainConfig:
    base = dict(
        tickers=TICKERS,
        start=pd.Timestamp("2013-01-01"),
        as_of=AS_OF,
        train_months=12,
        test_months=6,
        n_boot=50,
        learner=LearnerParams(n_estimators=200),
    )
    return TrainConfig(**{**base, **changes})


KEY = "this install's key"


@pytest.fixture(scope="module")
def trained(_seeded_template, tmp_path_factory):
    """A run trained with a signing key configured (only while it trains)."""
    db = tmp_path_factory.mktemp("trained") / "store.db"
    db.write_bytes(Path(_seeded_template).read_bytes())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WORKBENCH_BUNDLE_KEY", KEY)
        record = workflows.train_model(db, small_config())
    return db, record


def test_a_run_is_registered_with_its_bundle_and_scores(trained) -> None:
    db, record = trained
    assert record.status == "complete" and record.origin == "local"
    assert Path(record.artifact_dir).is_dir()
    assert set(record.files) == {
        "booster.ubj",
        "model.json",
        "oos_predictions.arrow",
        "feature_baseline.arrow",
        "manifest.json",
    }
    metrics = record.metrics
    assert (
        0
        < metrics["model"]["auc"]["low"]
        <= metrics["model"]["auc"]["estimate"]
        <= metrics["model"]["auc"]["high"]
        < 1
    )
    assert {"ic", "rank_ic", "calibrated", "raw", "baseline", "per_regime", "reliability"} <= set(
        metrics
    )
    assert record.params["tickers"] == list(TICKERS)
    assert len(record.data_hash) == 64 and record.feature_version
    with open_db(db) as handle:
        assert ModelRunRepository(handle).lock() is None


def test_forecasts_carry_direction_confidence_and_reasons(trained) -> None:
    db, record = trained
    workflows.activate_run(db, record.run_id)
    frame = workflows.forecast(db, workflows.build_snapshot(db, TICKERS, AS_OF))
    assert list(frame.index) == sorted(TICKERS)
    assert ((frame["p_up"] > 0) & (frame["p_up"] < 1)).all()
    expected = np.where(
        frame["p_up"] >= 0.55, "BUY", np.where(frame["p_up"] <= 0.45, "SELL", "HOLD")
    )
    assert (frame["direction"] == expected).all()
    assert (frame["date"] == AS_OF).all() and (frame["run_id"] == record.run_id).all()
    # the default model is cross-sectional: a ranking, explained against the average stock
    assert frame["rank"].tolist() == [int((frame["score"] > x).sum()) + 1 for x in frame["score"]]
    assert frame["score_vs_average"].sum() == pytest.approx(0.0, abs=1e-9)
    assert frame["percentile"].between(0, 1).all()
    for text, total in zip(frame["reasons"], frame["score_vs_average"], strict=True):
        if text == NO_RELATIVE_REASON:
            assert abs(total) < 0.0005 * 40
            continue
        terms = [float(sentence.rsplit(": ", 1)[1]) for sentence in text.split("; ")]
        assert text.split("; ")[-1].startswith("other features: ")
        # each term is shown with three decimals: the shown terms add up within rounding
        assert sum(terms) == pytest.approx(total, abs=0.0005 * len(terms))


def test_a_forecast_equals_the_models_separate_calls_exactly(trained) -> None:
    db, record = trained
    snapshot = workflows.build_snapshot(db, TICKERS, AS_OF)
    frame = workflows.forecast(db, snapshot, run_id=record.run_id)
    model, _ = modeling_runs.load_model(db, record.run_id)
    rows = snapshot.latest_features()
    rows = rows[rows.index.get_level_values("date") == AS_OF]
    tickers = rows.index.get_level_values("ticker")
    np.testing.assert_array_equal(frame.loc[tickers, "score"], model.rank_score(rows))
    np.testing.assert_array_equal(frame.loc[tickers, "p_up"], model.predict_proba(rows)[:, 1])
    together = model.explained_predictions(rows)
    pd.testing.assert_frame_equal(together.contributions, model.contributions(rows))


@pytest.mark.parametrize("learner", ["linear", "lightgbm"])
def test_every_learner_trains_registers_and_forecasts(seeded_db, learner) -> None:
    config = small_config(learner=LearnerParams(learner=learner, n_estimators=200))
    record = workflows.train_model(seeded_db, config)
    assert record.status == "complete" and record.params["learner"]["learner"] == learner
    model, _ = modeling_runs.load_model(seeded_db, record.run_id)
    assert model.MODEL_FILE in record.files and "booster.ubj" not in record.files
    snapshot = workflows.build_snapshot(seeded_db, TICKERS, AS_OF)
    frame = workflows.forecast(seeded_db, snapshot, run_id=record.run_id)
    rows = snapshot.latest_features()
    rows = rows[rows.index.get_level_values("date") == AS_OF]
    tickers = rows.index.get_level_values("ticker")
    np.testing.assert_array_equal(frame.loc[tickers, "score"], model.rank_score(rows))
    np.testing.assert_array_equal(frame.loc[tickers, "p_up"], model.predict_proba(rows)[:, 1])
    assert frame["reasons"].str.len().gt(0).all()


def test_a_run_refuses_to_forecast_before_the_date_it_is_trained_through(trained) -> None:
    db, record = trained
    earlier = AS_OF - pd.Timedelta(days=1)
    with pytest.raises(
        ValueError, match=r"trained through 2017-06-30 .* after the as-of date 2017-06-29"
    ):
        workflows.forecast(db, workflows.build_snapshot(db, TICKERS, earlier), run_id=record.run_id)


def test_a_forecast_at_t_does_not_depend_on_later_data(trained, tmp_path) -> None:
    db, record = trained
    later = workflows.forecast(
        db, workflows.build_snapshot(db, TICKERS, AS_OF), run_id=record.run_id
    )
    # A second store that never saw anything after AS_OF, trained the same way.
    short = tmp_path / "short.db"
    prices = load_sample_prices()
    assert (
        workflows.ingest(short, FetchResult("sample", prices[prices["date"] <= AS_OF], True)).status
        == "ok"
    )
    again = workflows.train_model(short, small_config())
    before = workflows.forecast(
        short, workflows.build_snapshot(short, TICKERS, AS_OF), run_id=again.run_id
    )
    pd.testing.assert_frame_equal(before.drop(columns="run_id"), later.drop(columns="run_id"))
    assert again.metrics["model"] == record.metrics["model"]


def test_one_training_job_at_a_time(seeded_db) -> None:
    with open_db(seeded_db) as handle:
        ModelRunRepository(handle).acquire_lock("someone-else", 4242)
    with pytest.raises(TrainingBusyError, match="someone-else .*4242.* already running"):
        workflows.train_model(seeded_db, small_config())
    assert workflows.load_runs(seeded_db).empty


def test_a_failed_run_is_marked_and_leaves_no_bundle(seeded_db, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(modeling_runs, "train", broken)
    with pytest.raises(RuntimeError, match="out of memory"):
        workflows.train_model(seeded_db, small_config(), run_id="doomed")
    runs = workflows.load_runs(seeded_db)
    assert runs.loc[0, "status"] == "failed" and "out of memory" in runs.loc[0, "message"]
    assert not (workflows.artifacts_root() / "doomed").exists()
    with open_db(seeded_db) as handle:
        assert ModelRunRepository(handle).lock() is None
    with pytest.raises(StoreError, match="failed, not complete"):
        workflows.load_model(seeded_db, "doomed")


def test_a_tampered_bundle_is_refused(trained, tmp_path) -> None:
    db, record = trained
    copy = tmp_path / "copy.db"
    copy.write_bytes(Path(db).read_bytes())
    parts = Path(record.artifact_dir) / "model.json"
    original = parts.read_bytes()
    try:
        parts.write_bytes(original + b"tampered")
        with pytest.raises(ArtifactError, match="model.json .* not loaded"):
            workflows.load_model(copy, record.run_id)
    finally:
        parts.write_bytes(original)
    assert workflows.load_model(copy, record.run_id)[1].run_id == record.run_id


def test_an_exported_bundle_imports_into_another_store(
    trained, seeded_db, tmp_path, monkeypatch
) -> None:
    _, record = trained
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "elsewhere"))
    imported = workflows.import_bundle(seeded_db, Path(record.artifact_dir))
    assert imported.run.origin == "imported" and imported.run.run_id == record.run_id
    assert imported.signature == "signed with another key"  # no key configured here
    assert Path(imported.run.artifact_dir).parent == tmp_path / "elsewhere"
    with pytest.raises(ArtifactError, match="already"):
        workflows.import_bundle(seeded_db, Path(record.artifact_dir))
    assert os.listdir(tmp_path / "elsewhere") == [record.run_id]


def test_training_signs_and_an_import_says_who_signed(
    trained, seeded_db, tmp_path, monkeypatch
) -> None:
    _, record = trained
    manifest = json.loads((Path(record.artifact_dir) / "manifest.json").read_text())
    assert signing.signature_status(manifest, KEY.encode()) == signing.SIGNED_HERE
    assert signing.signature_status(manifest, b"another key") == signing.SIGNED_ELSEWHERE

    def copy(run_id: str, key: bytes | None, **changes) -> Path:
        folder = tmp_path / run_id
        shutil.copytree(record.artifact_dir, folder)
        body = {**manifest, "run_id": run_id}
        (folder / "manifest.json").write_bytes(manifest_document(body, key))
        if changes:  # edited after signing
            signed = json.loads((folder / "manifest.json").read_text())
            (folder / "manifest.json").write_text(json.dumps({**signed, **changes}))
        return folder

    monkeypatch.setenv(workflows.ARTIFACTS_ENV_VAR, str(tmp_path / "imported"))
    monkeypatch.setenv("WORKBENCH_BUNDLE_KEY", KEY)
    cases = {
        "here": (KEY.encode(), {}, "signed by this install"),
        "elsewhere": (b"another key", {}, "signed with another key"),
        "edited": (KEY.encode(), {"metrics": {}}, "signed by this install, then altered"),
        "plain": (None, {}, "unsigned"),
    }
    # by default, once a key exists, only bundles signed by this install are imported
    for run_id, (key, changes, status) in cases.items():
        folder = copy(run_id, key, **changes)
        if status == signing.SIGNED_HERE:
            assert workflows.import_bundle(seeded_db, folder).signature == status
            continue
        refused = f"signed with its own key.*one is {status}"
        with unchanged(seeded_db), pytest.raises(ArtifactError, match=refused):
            workflows.import_bundle(seeded_db, folder)
    # accepting bundles from elsewhere is a setting; each says who signed it
    monkeypatch.setenv("WORKBENCH_REQUIRE_SIGNED_BUNDLES", "false")
    for run_id, (*_, status) in list(cases.items())[1:]:
        assert workflows.import_bundle(seeded_db, tmp_path / run_id).signature == status, run_id
    bad = copy("bad", KEY.encode(), signature="hmac-sha256:nothex")
    with pytest.raises(ArtifactError, match="signature is not hmac-sha256:<64 hex digits>"):
        workflows.import_bundle(seeded_db, bad)
    assert sorted(workflows.load_runs(seeded_db)["run_id"]) == sorted(cases)


def test_a_config_reads_back_from_the_registry_as_it_was() -> None:
    config = small_config(learner=LearnerParams(n_estimators=50, families=("technical",)))
    stored = json.loads(json.dumps(config.as_dict(), sort_keys=True, default=str))
    assert TrainConfig.from_dict(stored) == config
    with pytest.raises(ValueError, match="unknown training options: retired_option"):
        TrainConfig.from_dict({**stored, "retired_option": 1})


def _signed_copy(record, folder: Path, drop_end_dates: bool = False, **changes) -> Path:
    """A copy of ``record``'s bundle whose manifest has ``changes``, signed with ``KEY``;
    ``drop_end_dates``: its out-of-sample file without the outcome dates (rehashed)."""
    shutil.copytree(record.artifact_dir, folder)
    body = json.loads((folder / "manifest.json").read_text())
    if drop_end_dates:
        table = feather.read_table(folder / PREDICTIONS).drop_columns(["end_date"])
        feather.write_feather(table, folder / PREDICTIONS)
        body["files"] = {**body["files"], PREDICTIONS: sha256_file(folder / PREDICTIONS)}
    (folder / "manifest.json").write_bytes(
        manifest_document({**body, "run_id": folder.name, **changes}, KEY.encode())
    )
    return folder


def test_an_imported_bundle_cannot_claim_it_learned_less_than_its_own_files_show(
    trained, seeded_db, tmp_path, monkeypatch
) -> None:
    db, record = trained
    monkeypatch.setenv(workflows.ARTIFACTS_ENV_VAR, str(tmp_path / "imported"))
    monkeypatch.setenv("WORKBENCH_BUNDLE_KEY", KEY)
    outcomes = feather.read_table(Path(record.artifact_dir) / PREDICTIONS, columns=["end_date"])
    newest = outcomes.to_pandas()["end_date"].max()
    assert pd.Timestamp(record.trained_through) >= newest  # true of every run trained here
    day_before = f"{newest - pd.Timedelta(days=1):%Y-%m-%d}"
    for claim in ("1000-01-01", day_before):
        folder = _signed_copy(record, tmp_path / f"early{claim[:4]}", trained_through=claim)
        with (
            unchanged(seeded_db),
            pytest.raises(
                ArtifactError, match=f"predictions hold outcomes up to {newest:%Y-%m-%d}"
            ),
        ):
            workflows.import_bundle(seeded_db, folder)
    honest = workflows.import_bundle(seeded_db, _signed_copy(record, tmp_path / "honest"))
    assert honest.run.trained_through == record.trained_through
    assert honest.run.trained_through_verified is True
    assert workflows.describe_trained_through(honest.run) == record.trained_through
    with pytest.raises(workflows.LookaheadError, match="trained through"):
        workflows.load_model_as_of(seeded_db, pd.Timestamp(day_before), "honest")
    # nothing in the files to check against: imported, and said to be the bundle's word only
    bare = _signed_copy(record, tmp_path / "bare", drop_end_dates=True)
    unverified = workflows.import_bundle(seeded_db, bare).run
    assert unverified.trained_through_verified is False
    assert workflows.describe_trained_through(unverified) == (
        f"{record.trained_through} (unverified: the bundle held no outcome dates to check it "
        "against)"
    )
    assert workflows.load_run(db, record.run_id).trained_through_verified is None  # local


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"learner": {"n_jobs": 1e6}}, "n_jobs must be a whole number"),
        ({"learner": {"n_jobs": 1_000_000}}, r"n_jobs must be in \[1, 256\]"),
        ({"learner": {"n_estimators": 1e9}}, "n_estimators must be a whole number"),
        ({"learner": {"n_estimators": 10**9}}, r"n_estimators must be in \[1, 20000\]"),
        ({"learner": {"device": "cuda:99"}}, "device must be one of"),
        ({"learner": {"learning_rate": float("nan")}}, r"learning_rate must be in \(0, 1\]"),
        ({"learner": {"subsample": float("inf")}}, r"subsample must be in \(0, 1\]"),
        ({"learner": {"max_depth": True}}, "max_depth must be a whole number"),
        ({"learner": {"seed": -1}}, "seed must be in"),
        ({"learner": {"families": ["technical", "os.system"]}}, "families must be some of"),
        ({"learner": {"families": 3}}, "label or learner settings"),
        ({"learner": {"calibration": "pickle"}}, "calibration must be one of"),
        ({"learner": {"surprise": 1}}, "label or learner settings"),
        ({"learner": []}, "learner must be a JSON object"),
        ({"label": {"horizon": float("nan")}}, "horizon must be a whole number"),
        ({"train_months": 10**6}, r"train_months must be in \[1, 600\]"),
        ({"n_boot": -1}, "n_boot must be in"),
        ({"embargo": "5"}, "embargo must be a whole number"),
        ({"tickers": "AAPL"}, "tickers must be a list"),
        ({"tickers": []}, "1 to 5000 tickers"),
        ({"tickers": ["AAPL", "AAPL"]}, "distinct"),
        ({"tickers": ["AAPL", "rm -rf"]}, "Invalid ticker"),
        ({"start": "not a date"}, "start: 'not a date' is not a date"),
        ({"as_of": "NaT"}, "as_of: 'NaT' is not a date"),
        (
            {"start": "2020-01-01", "as_of": "2019-01-01"},
            r"start \(2020-01-01\) must be before as_of",
        ),
    ],
)
def test_a_configuration_out_of_range_is_refused_naming_the_setting(change, message) -> None:
    stored = json.loads(json.dumps(small_config().as_dict(), default=str))
    for key in ("label", "learner"):
        if isinstance(change.get(key), dict):
            change = {**change, key: {**stored[key], **change[key]}}
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict({**stored, **change})


def test_a_bundle_whose_settings_are_out_of_range_is_not_imported(
    trained, seeded_db, tmp_path, monkeypatch
) -> None:
    _, record = trained
    monkeypatch.setenv(workflows.ARTIFACTS_ENV_VAR, str(tmp_path / "imported"))
    monkeypatch.setenv("WORKBENCH_BUNDLE_KEY", KEY)
    manifest = json.loads((Path(record.artifact_dir) / "manifest.json").read_text())
    config = manifest["config"]
    crafted = {
        "config": {**config, "learner": {**config["learner"], "n_jobs": 1_000_000}},
        "params": {**manifest["params"], "n_estimators": 10**9},
    }
    messages = {
        "config": "training configuration is refused: learner settings: n_jobs",
        "params": "manifest.json in .* does not describe a model: .*n_estimators",
    }
    for name, message in messages.items():
        folder = _signed_copy(record, tmp_path / name, **{name: crafted[name]})
        with unchanged(seeded_db), pytest.raises(ArtifactError, match=message):
            workflows.import_bundle(seeded_db, folder)
