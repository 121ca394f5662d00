"""The GRU bundle that the serving tests import (``tests/fixtures/gru_bundle``): trained
with torch on the offline sample by ``python -m tests.deep_bundle`` (``make deep`` first),
and committed, so CI, which has onnxruntime and no torch, serves a network torch trained.
Rewrite it when the bundle format changes; the deep tests train one the same way."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import tempfile
from pathlib import Path

from engine import workflows
from engine.modeling.learners import LearnerParams
from tests.builders import SMALL_TRAIN

FIXTURE = Path(__file__).parent / "fixtures" / "gru_bundle"
DEEP_TRAIN = dataclasses.replace(
    SMALL_TRAIN,
    learner=LearnerParams(
        learner="gru", families=("path",), hidden_units=8, hidden_layers=1, epochs=30, patience=5
    ),
)


def train_deep_bundle(db: Path, config=DEEP_TRAIN) -> Path:
    """Seed the store ``db`` from the offline sample, train ``config`` on it and return its
    bundle's folder."""
    workflows.ensure_seeded(db)
    return Path(workflows.train_model(db, config).artifact_dir)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["WORKBENCH_ARTIFACTS"] = str(Path(folder) / "artifacts")
        bundle = train_deep_bundle(Path(folder) / "store.db")
        shutil.rmtree(FIXTURE, ignore_errors=True)
        shutil.copytree(bundle, FIXTURE)
    sys.stdout.write(f"wrote {FIXTURE}\n")


if __name__ == "__main__":
    main()
