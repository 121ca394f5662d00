"""notebooks/colab_training.ipynb: a valid notebook that, executed on the tiny sample
configuration inside this checkout, trains with tuning and zips a bundle that imports."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import find_kernel_specs
from nbclient import NotebookClient

from engine import workflows

pytestmark = pytest.mark.slow  # each test runs the training script (minutes)

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "colab_training.ipynb"


def test_the_notebook_is_valid_and_reads_its_parameters_from_one_cell() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "REPO_URL" in tagged[0].source
    source = "\n".join(c.source for c in notebook.cells)
    assert "git clone" in source.replace('"git", "clone"', "git clone") and "--trials" in source


@pytest.mark.timeout(300)
def test_the_notebook_trains_a_tuned_bundle_that_the_training_page_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "python3" not in find_kernel_specs():
        from ipykernel.kernelspec import install  # noqa: PLC0415

        install(prefix=sys.prefix)
    out = tmp_path / "out"
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
    imported = workflows.import_bundle_archive(tmp_path / "elsewhere.db", archive.read_bytes())
    assert imported.run.run_id == archive.stem
    assert imported.run.metrics["tuning"]["n_trials"] == 2
