"""The Monitor page's live record: counts, live against the backtest, the verdict."""

from __future__ import annotations

import pandas as pd
import pytest

from engine import workflows
from engine.workflows.routines.routine import RoutineConfig, run_routine
from tests.engine.workflows.modeling.test_champions import CHALLENGER, rigged
from tests.engine.workflows.research.test_live_record import set_backtest_rank_ic, synthetic
from tests.pages.test_model_pages import open_page

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def table_with(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_the_monitor_shows_the_live_record_beside_the_backtest(trained_app, trained_db) -> None:
    app, record = trained_app
    path, _ = trained_db
    at = open_page(app, "monitor")
    assert "Live record" in [s.value for s in at.subheader]
    assert any("No live forecast of run" in i.value for i in at.info)

    tickers = list(record.params["tickers"])
    synthetic(path, record.run_id, tickers, sign=-1.0)  # 50 sessions ranked upside down
    workflows.score_live_record(path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Forecasts recorded"] == metrics["Scored"] == str(50 * len(tickers))
    assert metrics["Dates forecast"] == metrics["Dates with a live rank IC"] == "50"
    assert any("the backtest recorded no rank-IC interval" in i.value for i in at.info)
    comparison = table_with(at, "figure").set_index("figure")
    assert comparison.loc["rank IC", "live"] == pytest.approx(-1.0)
    assert comparison.loc["rank IC", "live_low"] <= -1.0 + 1e-9
    assert len(table_with(at, "outcome_date")) == len(tickers)

    set_backtest_rank_ic(path, record.run_id, 0.01, 0.05)
    at.run()
    warnings = [w.value for w in at.warning]
    assert any("live rank IC below the backtest's interval" in w for w in warnings), warnings


def test_the_monitor_shows_the_daily_routine(trained_app, trained_db) -> None:
    app, record = trained_app
    path, _ = trained_db
    at = open_page(app, "monitor")
    assert any("has not run on this store" in i.value for i in at.info)
    config = RoutineConfig(tuple(record.params["tickers"]), "sample")
    result = run_routine(path, config, now=pd.Timestamp("2022-12-27 22:00", tz="UTC"))
    assert result.ok
    at = open_page(app, "monitor")
    assert any("Last session run: 2022-12-27; every step done." in s.value for s in at.success)
    steps = table_with(at, "step")
    assert set(steps["step"]) == set(workflows.STEPS)
    # the forecasts it made are in the live record
    live = table_with(at, "outcome_date")
    assert len(live) == len(record.params["tickers"])


def test_the_monitor_rolls_back_to_the_previous_champion_once_confirmed(
    trained_app, trained_db, monkeypatch
) -> None:
    app, champion = trained_app
    path, _ = trained_db
    rigged(monkeypatch, champion.run_id, -1.0)  # any challenger beats a wrong champion
    promoted = workflows.retrain(path, CHALLENGER)
    assert promoted.promoted
    at = open_page(app, "monitor")
    history = table_with(at, "previous_run_id")
    assert history["kind"].tolist() == ["promoted"]
    assert at.button(key="monitor.rollback").disabled  # not before it is confirmed
    at.checkbox(key="monitor.rollback_sure").check().run()
    at.button(key="monitor.rollback").click().run()
    assert any(f"Run {champion.run_id} is the champion again." in s.value for s in at.success)
    assert workflows.active_run(path).run_id == champion.run_id
