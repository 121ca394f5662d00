"""The Training page's job: start it or export its package, follow it, import a bundle
trained elsewhere."""

from __future__ import annotations

import streamlit as st

from engine import workflows
from views.components.runs import render_job
from views.components.settings import alert_settings


def launch_or_export(path, config: workflows.TrainConfig, export: bool, trials: int) -> None:
    """Start ``config``'s training job (then rerun onto its progress), or export its
    training package for download (``render_package``)."""
    try:
        if export:
            package = workflows.export_training_package(path, config)
            st.session_state["training.package"] = (f"{config.as_of:%Y%m%d}", package)
            return
        tuning = workflows.TuningConfig(n_trials=trials) if trials else None
        run_id = workflows.launch_training(path, config, alert_settings(), tuning)
    except (workflows.TrainingBusyError, ValueError) as exc:
        st.error(str(exc))
        return
    st.session_state["training.launched"] = run_id
    st.rerun()


@st.fragment(run_every=2)
def follow_training(path) -> None:
    """Progress of the running job, refreshed every 2 s; a full rerun when it ends."""
    current = workflows.training_status(path)
    if current is None:
        st.rerun()
    render_job(current)
    if st.button("Cancel training", key="training.cancel", type="secondary"):
        workflows.cancel_training(path)
        st.toast("Asked the training process to stop")


def render_package() -> None:
    """The training package the form exported last, to download, and what to do with it."""
    if (exported := st.session_state.get("training.package")) is None:
        return
    as_of, package = exported
    st.download_button(
        f"Download the training package ({len(package) / 2**20:.1f} MB)",
        package,
        file_name=f"workbench-package-{as_of}.zip",
        mime="application/zip",
        key="training.download",
    )
    st.caption(
        "Open notebooks/colab_training.ipynb in Colab, run it and upload this zip when "
        "asked; import the bundle it returns below. The import checks that the bundle was "
        "trained on exactly the prices this store holds."
    )


def render_bundle_import(path) -> None:
    """The Training page's import of a zipped bundle trained elsewhere (e.g. Colab)."""
    with st.expander("Import a bundle trained elsewhere (e.g. Colab)"):
        upload = st.file_uploader("Zipped run folder", type=["zip"], key="training.bundle")
        if upload is not None and st.button("Check and import", key="training.import"):
            try:
                imported = workflows.import_bundle_archive(path, upload.getvalue())
            except (ValueError, workflows.StoreError) as exc:
                st.error(f"Not imported: {exc}")
            else:
                through = workflows.describe_trained_through(imported.run)
                st.success(
                    f"Imported run {imported.run.run_id} ({imported.signature}) after "
                    f"checking every file's SHA-256 and its model; trained through {through}"
                )
    st.caption(f"Bundles are kept in `{workflows.artifacts_root()}`.")
