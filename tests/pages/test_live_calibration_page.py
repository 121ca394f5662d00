"""The Monitor page's live recalibration section, rendered on its own: the versions,
recorded against recalibrated figures with intervals, and the verdict in words."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine import workflows
from tests.engine.workflows.research.test_live_calibration_workflow import (
    RUN,
    SESSIONS,
    plant,
    register,
)


def section(path: Path, as_of) -> AppTest:
    def script(path: str, as_of) -> None:
        from views.components.live_calibration import render_live_calibration  # noqa: PLC0415

        render_live_calibration(path, "run-live", as_of)

    return AppTest.from_function(script, args=(str(path), as_of), default_timeout=60).run()


def test_the_section_shows_each_version_judged_on_later_outcomes(db_path: Path) -> None:
    register(db_path, RUN, "classifier")
    plant(db_path, 35)
    at = section(db_path, SESSIONS[6].date())
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.subheader] == ["Live recalibration"]
    assert any("No live recalibration of run run-live" in i.value for i in at.info)

    versions = [workflows.update_live_calibration(db_path, day) for day in SESSIONS]
    assert [v for v in versions if v is not None] == list(range(1, 12))
    at = section(db_path, SESSIONS[-1].date())
    assert not at.exception, [e.value for e in at.exception]
    figures, table = (d.value for d in at.dataframe)
    assert figures["measure"].tolist() == ["Brier", "ECE"]
    assert table["version"].tolist() == list(range(1, 12))
    assert table["judged"].sum() == 280  # forecasts of sessions 7 to 34: after version 1
    message = next(m.value for m in [*at.success, *at.info, *at.warning])
    assert message.startswith("Recalibration on later outcomes: recalibration")
    assert len(at.get("plotly_chart")) == 1
