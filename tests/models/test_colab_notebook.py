"""notebooks/colab_training.ipynb: a valid notebook that, executed on a training package
exported from the sample store (a tiny configuration), unpacks the package's code, trains
with tuning from it and zips a bundle that the same store imports (its data hash checked)."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import find_kernel_specs
from nbclient import NotebookClient

from engine import workflows
from engine.modeling.learners import LearnerParams
from engine.modeling.training import TrainConfig
from tests.engine.modeling.test_tuning import CONFIG

pytestmark = pytest.mark.slow  # each test runs the training script (minutes)

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "colab_training.ipynb"
TINY = dataclasses.replace(CONFIG, learner=LearnerParams())  # four tickers, a short window


def test_the_notebook_is_valid_and_reads_its_parameters_from_one_cell() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "PACKAGE" in tagged[0].source
    source = "\n".join(c.source for c in notebook.cells)
    assert "--package" in source and "--trials" in source and "git clone" not in source


@pytest.mark.timeout(300)
def test_the_notebook_trains_a_tuned_bundle_that_the_training_page_imports(
    seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "python3" not in find_kernel_specs():
        from ipykernel.kernelspec import install  # noqa: PLC0415

        install(prefix=sys.prefix)
    out = tmp_path / "out"
    package = tmp_path / "package.zip"
    package.write_bytes(workflows.export_training_package(seeded_db, TINY))
    monkeypatch.setenv("WORKBENCH_PACKAGE", str(package))
    monkeypatch.setenv("WORKBENCH_CODE_DIR", str(tmp_path / "code"))
    monkeypatch.setenv("WORKBENCH_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("WORKBENCH_NOTEBOOK_OUT", str(out))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=240,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOK.parents[1])}},
    )
    client.execute()
    (archive,) = out.glob("*.zip")
    assert (tmp_path / "code" / "models" / "train.py").is_file()  # it ran the package's code
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "artifacts"))
    imported = workflows.import_bundle_archive(seeded_db, archive.read_bytes())
    assert imported.run.run_id == archive.stem
    trained = TrainConfig.from_dict(imported.run.params)  # the package's, the tuned settings
    assert dataclasses.replace(trained, learner=TINY.learner) == TINY
    assert imported.run.metrics["tuning"]["n_trials"] == 2
