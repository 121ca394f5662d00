"""The Go / No-Go page in AppTest: the gate, its intervals, and a confirmed ramp change."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from engine import workflows
from engine.workflows.trading import gate as gate_workflow
from tests.engine.trading.test_gate import forecasts, write_journal


def open_gate(at: AppTest) -> AppTest:
    at.switch_page("views/gate.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_gate_says_so_without_a_paper_account(app: AppTest) -> None:
    at = open_gate(app)
    assert [t.value for t in at.title] == ["Go / No-Go"]
    next(b for b in at.button if b.label == "Run the gate").click().run()
    assert any("no paper account yet" in e.value for e in at.error)


def test_a_go_is_shown_with_its_intervals_and_advances_on_confirmation(
    app: AppTest, seeded_db: Path, monkeypatch
) -> None:
    write_journal(seeded_db)
    monkeypatch.setattr(gate_workflow, "_outcomes", lambda *a: forecasts(30))
    app.sidebar.date_input(key="global.as_of").set_value(pd.Timestamp("2022-07-27").date())
    at = open_gate(app)
    next(b for b in at.button if b.label == "Run the gate").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("**GO**" in s.value for s in at.success)
    table = next(
        d.value
        for d in at.dataframe
        if "criterion" in d.value.columns and "state" in d.value.columns
    )
    assert table.set_index("criterion").at["win rate", "observations"] == 20
    assert any("straddles 0.55, 0.5" in w.value for w in at.warning)  # 60% [38.7%, 78.1%]
    assert {m.label: m.value for m in at.metric}["Share of the model's weights traded"] == "1%"
    assert workflows.run_gate(seeded_db).history.empty  # nothing moves without the button
    next(b for b in at.button if b.label == "Advance the ramp").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Share of the model's weights traded"] == "5%"
    assert not [b for b in at.button if b.label == "Advance the ramp"]  # once per date
    history = workflows.run_gate(seeded_db).history
    assert history[["changed_on", "stage", "verdict"]].values.tolist() == [["2022-07-27", 1, "GO"]]
