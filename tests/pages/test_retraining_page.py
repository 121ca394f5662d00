"""The Monitor page's retraining section, rendered on its own: the policy put in force and
removed from the form, and a saved replay shown with its intervals and chart."""

from __future__ import annotations

import pandas as pd
from streamlit.testing.v1 import AppTest

from engine import workflows
from engine.modeling.policies import RetrainPolicy


def section(path) -> AppTest:
    def script(path: str) -> None:
        from views.components.retraining import render_retraining  # noqa: PLC0415

        render_retraining(path)

    return AppTest.from_function(script, args=(str(path),), default_timeout=60)


def test_the_form_puts_a_policy_in_force_and_removes_it(trained_db) -> None:
    db, _ = trained_db
    at = section(db).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No policy: nothing retrains by itself" in c.value for c in at.caption)
    at.selectbox(key="retrain.cadence").select("weekly")
    at.number_input(key="retrain.window").set_value(12)
    at.checkbox(key="retrain.drift").check()
    at.button(key="retrain.save").click().run()
    assert workflows.load_retrain_policy(db) == RetrainPolicy("weekly", 12, on_drift=True)
    assert at.success[0].value.startswith("In force from the next routine run: weekly")
    at.button(key="retrain.remove").click().run()
    assert workflows.load_retrain_policy(db) is None
    assert any("No replay saved yet" in c.value for c in at.caption)


def test_a_saved_replay_is_shown_with_its_intervals(trained_db) -> None:
    db, record = trained_db
    workflows.simulate_retraining(
        db, [RetrainPolicy("quarterly", 12)], start=pd.Timestamp("2016-01-04")
    )
    at = section(db).run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert table["policy"].tolist() == ["never on a schedule; 18-month window",
                                        "quarterly; 12-month window"]  # fmt: skip
    assert {"rank_ic_low", "vs_static_high", "excess_low", "deflated_sharpe"} <= set(table)
    assert any(f"Run {record.run_id}, replayed from 2016-01-04" in c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 1
