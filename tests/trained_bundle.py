"""The trained bundle the hostile-bundle tests start from (a pytest plugin: the modules
that use it name it in ``pytest_plugins``, so the model is trained once per session)."""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from engine import workflows
from engine.modeling.ubjson import decode_ubjson
from tests.builders import SMALL_TRAIN
from tests.crafted_bundles import trees_of

# SMALL_TRAIN's min_child_weight (100) leaves its trees as single leaves on the sample
# store; trees that split are what crafted links and thresholds need to start from.
SPLITTING_TRAIN = replace(
    SMALL_TRAIN, learner=replace(SMALL_TRAIN.learner, min_child_weight=1.0, max_depth=3)
)


@pytest.fixture(scope="session")
def trained_template(_seeded_template: Path, tmp_path_factory) -> tuple[Path, Path]:
    """A store with one small trained run (trees that split), and its artifacts folder
    (copied per test)."""
    folder = tmp_path_factory.mktemp("hostile_trained")
    db = folder / "store.db"
    db.write_bytes(_seeded_template.read_bytes())
    patch = pytest.MonkeyPatch()
    patch.setenv("WORKBENCH_ARTIFACTS", str(folder / "artifacts"))
    record = workflows.train_model(db, SPLITTING_TRAIN)
    patch.undo()
    return db, Path(record.artifact_dir)


@pytest.fixture
def trained(trained_template, tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A copy of the template's store and bundle; the artifacts root is this test's."""
    db_template, bundle = trained_template
    root = tmp_path / "artifacts"
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(root))
    copy = root / bundle.name
    shutil.copytree(bundle, copy)
    db = tmp_path / "store.db"
    db.write_bytes(db_template.read_bytes())
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE model_runs SET artifact_dir = ?", (str(copy),))
    conn.close()
    workflows.load_runs(db)
    return db, copy


@pytest.fixture(scope="session")
def booster_document(trained_template) -> dict:
    """The trained bundle's booster, decoded."""
    document = decode_ubjson((trained_template[1] / "booster.ubj").read_bytes())
    assert any(tree["left_children"][0] >= 0 for tree in trees_of(document))
    return document
