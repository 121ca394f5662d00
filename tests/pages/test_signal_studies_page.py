"""The Signal studies page: a condition on the real OHLCV stocks, its verdict, the table
and the path; a bad condition is named and nothing is saved."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine import workflows


def test_a_study_of_smi_above_70_runs_and_a_bad_condition_is_named(
    app: AppTest, seeded_db: Path
) -> None:
    app.sidebar.selectbox(key="global.watchlist").set_value("Sample OHLCV").run()
    at = app.switch_page("views/signal_studies.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No signal study yet" in i.value for i in at.info)
    at.text_input(key="signal_study.condition").set_value("smi > 70")
    next(b for b in at.button if b.label == "Run study").click().run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    table = next(d.value for d in at.dataframe if "adjusted_p" in d.value.columns)
    assert table["horizon"].tolist() == [1, 5, 20]
    assert (table["events"] > 100).all() and (table["episodes"] < table["events"]).all()
    assert (table["after_costs_low"] <= table["after_costs_high"]).all()
    labels = [m.label for m in at.metric]
    assert labels == [f"{h}-session excess after costs" for h in (1, 5, 20)]
    verdicts = set(table["verdict"])
    if verdicts == {"no evidence"}:
        assert any("No evidence of an edge after costs" in w.value for w in at.warning)
    else:
        assert any("An edge after costs" in s.value for s in at.success)
    assert len(at.get("plotly_chart")) == 1
    assert len(workflows.load_studies(seeded_db, "signal")) == 1
    at.text_input(key="signal_study.condition").set_value("smi > 70 and rsi14 < 30")
    next(b for b in at.button if b.label == "Run study").click().run(timeout=120)
    assert any("unknown column 'rsi14'" in e.value and "rsi_14" in e.value for e in at.error)
    assert len(workflows.load_studies(seeded_db, "signal")) == 1
