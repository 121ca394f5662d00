"""Training packages: the round trip through a store elsewhere (Colab's) and back, the data
hash checked on import, and crafted packages refused by name."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from pyarrow import feather

from engine import workflows
from engine.data.universe import INDEX_TICKER
from engine.modeling.artifacts import ArtifactError
from engine.modeling.training import TrainConfig
from engine.workflows.modeling.bundles import training_rows
from engine.workflows.modeling.package import CODE_FOLDER, PACKAGE_FILE, PRICES_FILE
from tests.builders import SMALL_TRAIN
from tests.models.test_train_script import run_script


@pytest.fixture
def package(seeded_db: Path) -> bytes:
    return workflows.export_training_package(seeded_db, SMALL_TRAIN)


def rewritten(package: bytes, **files: bytes) -> bytes:
    """``package`` with some files replaced (or added)."""
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            target.writestr(name, files.pop(name, source.read(name)))
        for name, data in files.items():
            target.writestr(name, data)
    return out.getvalue()


def test_a_package_holds_the_config_the_prices_through_the_as_of_date_and_the_code(
    seeded_db, package
) -> None:
    body, prices = workflows.read_training_package(package)
    assert TrainConfig.from_dict(body["config"]) == SMALL_TRAIN and body["as_of"] == "2018-06-29"
    assert prices["date"].max() <= SMALL_TRAIN.as_of and len(prices) == body["rows"]
    assert {INDEX_TICKER, *SMALL_TRAIN.tickers} <= set(prices["ticker"])  # the context too
    names = zipfile.ZipFile(io.BytesIO(package)).namelist()
    assert f"{CODE_FOLDER}/models/train.py" in names
    assert f"{CODE_FOLDER}/engine/workflows/modeling/package.py" in names
    assert not any("__pycache__" in n or n.startswith(f"{CODE_FOLDER}/views") for n in names)


def test_a_run_trained_from_the_package_elsewhere_imports_and_forecasts_the_same(
    seeded_db, package, tmp_path, monkeypatch
) -> None:
    elsewhere = tmp_path / "colab.db"
    config = workflows.load_training_package(elsewhere, package)
    assert config == SMALL_TRAIN
    pd.testing.assert_frame_equal(
        training_rows(elsewhere, config, SMALL_TRAIN.as_of),
        training_rows(seeded_db, config, SMALL_TRAIN.as_of),
    )
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "colab-artifacts"))
    run = workflows.train_model(elsewhere, config)
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "artifacts"))
    imported = workflows.import_bundle(seeded_db, Path(run.artifact_dir)).run
    assert imported.data_hash == run.data_hash
    day = pd.Timestamp("2019-03-01")
    tickers = list(config.tickers)
    here = workflows.sized_forecasts(seeded_db, tickers, day, run_id=imported.run_id)
    there = workflows.sized_forecasts(elsewhere, tickers, day, run_id=run.run_id)
    pd.testing.assert_series_equal(here["p_up"], there["p_up"])


def test_a_run_trained_on_other_prices_is_refused(seeded_db, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "artifacts"))
    run = workflows.train_model(seeded_db, SMALL_TRAIN)
    elsewhere = tmp_path / "restated.db"
    elsewhere.write_bytes(seeded_db.read_bytes())
    with sqlite3.connect(elsewhere) as conn:  # one close restated, before the run's last label
        conn.execute(
            "UPDATE prices SET close = close * 1.01 WHERE ticker = 'KO' AND date = '2016-03-01'"
        )
    conn.close()
    with sqlite3.connect(elsewhere) as conn:
        conn.execute("DELETE FROM model_runs")
    conn.close()
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "other-artifacts"))
    with pytest.raises(ArtifactError, match="trained on other prices than this store holds"):
        workflows.import_bundle(elsewhere, Path(run.artifact_dir))


def test_the_training_script_trains_a_package(package, tmp_path) -> None:
    (tmp_path / "package.zip").write_bytes(package)
    done = run_script(
        "--package",
        str(tmp_path / "package.zip"),
        "--db",
        str(tmp_path / "colab.db"),
        "--output",
        str(tmp_path / "bundles"),
        "--json-progress",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    manifest = json.loads((Path(summary["artifact_dir"]) / "manifest.json").read_text())
    assert TrainConfig.from_dict(manifest["config"]) == SMALL_TRAIN


def _arrow(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    feather.write_feather(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("craft", "message"),
    [
        (lambda p: b"not a zip", "not a zip archive"),
        (lambda p: rewritten(p, **{PACKAGE_FILE: b"[1, 2]"}), "not a training package"),
        (
            lambda p: rewritten(p, **{PACKAGE_FILE: json.dumps({"format": 9}).encode()}),
            "not a training package of format 1",
        ),
        (lambda p: rewritten(p, **{PRICES_FILE: b"PAR1 not arrow"}), "not an Arrow file"),
        (lambda p: rewritten(p, **{PRICES_FILE: b"ARROW1 but cut short"}), "cannot read"),
        (
            lambda p: rewritten(p, **{PRICES_FILE: _arrow(pd.DataFrame({"ticker": ["A"]}))}),
            "has columns",
        ),
        (lambda p: rewritten(p, **{"../evil.txt": b"x"}), "outside its own folder"),
    ],
)
def test_a_crafted_package_is_refused_by_name(package, tmp_path, craft, message) -> None:
    with pytest.raises(ArtifactError, match=message):
        workflows.load_training_package(tmp_path / "colab.db", craft(package))


def test_prices_that_are_not_the_described_rows_are_refused(package, tmp_path) -> None:
    _, prices = workflows.read_training_package(package)
    prices.loc[prices["ticker"] == "KO", "close"] *= 1.001
    with pytest.raises(ArtifactError, match="not the rows it describes"):
        workflows.load_training_package(
            tmp_path / "colab.db", rewritten(package, **{PRICES_FILE: _arrow(prices)})
        )
    broken = prices.copy()
    broken.loc[broken.index[:5], "close"] = -1.0
    with pytest.raises(ArtifactError, match="failed the quality gate"):
        workflows.load_training_package(
            tmp_path / "gate.db", rewritten(package, **{PRICES_FILE: _arrow(broken)})
        )
