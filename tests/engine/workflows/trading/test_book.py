"""The book with an active model: holdings get the run's forecasts, rank and reasons, the
re-entry watch reads the run's stored forecasts, and the double-down check goes through
the forecast, the skill verdict, the regime and the caps."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.modeling.learners import LearnerParams
from engine.modeling.training import TrainConfig
from tests.builders import html_sources

AS_OF = pd.Timestamp("2018-06-29")
RUN = TrainConfig(
    tickers=("AAPL", "KO", "JPM", "XOM", "MSFT"),
    start=pd.Timestamp("2015-01-01"),
    as_of=AS_OF,
    train_months=12,
    test_months=6,
    n_boot=20,
    learner=LearnerParams(n_estimators=40, early_stopping_rounds=10, min_rounds=20),
)


@pytest.fixture(scope="module")
def book_db(_seeded_template: Path, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("book") / "book.db"
    db.write_bytes(_seeded_template.read_bytes())
    record = workflows.train_model(db, RUN)
    workflows.activate_run(db, record.run_id)
    workflows.add_holding(db, "AAPL", 10, 150.0, "2017-01-03")
    workflows.add_holding(db, "KO", 100, 60.0, "2017-01-03")  # bought high: a loss by 2018
    workflows.save_reentry_condition(db, "JPM", min_percentile=0.0, min_p=0.0)
    workflows.save_reentry_condition(db, "XOM", min_percentile=1.0)  # the top name only
    return db


def test_holdings_carry_the_active_runs_forecast_rank_and_reasons(book_db: Path) -> None:
    book = workflows.load_book(book_db, AS_OF)
    assert sorted(book.forecasts.index) == ["AAPL", "KO"]
    assert (book.forecasts["date"] == AS_OF).all()
    assert book.forecasts["universe"].eq(5).all()  # ranked among the run's five tickers
    assert set(book.forecasts["rank"]) <= {1, 2, 3, 4, 5}
    assert book.forecasts["reasons"].str.len().gt(0).all()
    assert book.skill is not None and book.event == "P(beats median)"
    assert "ranked among 5 tickers" in book.forecast_note
    # the run is refused at a date before it was trained through: no forecasts, the reason
    early = workflows.load_book(book_db, pd.Timestamp("2017-06-30"))
    assert early.forecasts.empty and "look-ahead" in early.forecast_note


def test_the_double_down_check_reads_the_forecast_and_names_what_says_no(book_db) -> None:
    book = workflows.load_book(book_db, AS_OF)
    assert book.holdings.set_index("ticker").loc["KO", "pnl"] < 0
    verdict = workflows.double_down(book, "KO", 500.0, 100_000.0)
    names = {c.name for c in verdict.checks}
    assert {"forecast", "regime"} <= names
    forecast = next(c for c in verdict.checks if c.name == "forecast")
    # a few trees on five names show no skill out of sample, so the forecast never says yes
    assert not book.skill.shown
    assert not forecast.ok and not verdict.allowed and "forecast" in verdict.text
    assert "no skill" in forecast.text.lower()
    assert all(c.text for c in verdict.checks)


def test_reentry_uses_the_runs_stored_forecasts_and_says_since_when(book_db: Path) -> None:
    report = workflows.reentry_watch(book_db, AS_OF)
    by_ticker = {s.ticker: s for s in report.statuses}
    jpm, xom = by_ticker["JPM"], by_ticker["XOM"]
    assert jpm.state == "met" and jpm.since is not None and jpm.since <= AS_OF
    assert "stored out-of-sample forecasts" in report.note
    assert xom.state in {"met", "not met"}  # known either way: the run forecast it
    # the run's first out-of-sample date bounds how far back "since" can be known
    first = workflows.load_oos_predictions(book_db)[0].index.get_level_values("date").min()
    assert jpm.since >= first


def test_met_reentry_conditions_alert_once_per_run_of_met_sessions(book_db: Path) -> None:
    from engine.workflows.routines.daily import alert_reentry  # noqa: PLC0415

    recorded = workflows.AlertSettings()  # no channel: recorded for the Monitor page only
    assert "JPM" in alert_reentry(book_db, AS_OF, recorded)
    alert_reentry(book_db, AS_OF, recorded)  # a rerun: the same event, nothing new
    log = workflows.load_alerts(book_db)
    jpm = log[log["title"] == "Re-entry conditions met: JPM"]
    assert len(jpm) == 1 and (jpm["kind"] == "reentry_met").all()
    assert alert_reentry(book_db, AS_OF, None) and len(workflows.load_alerts(book_db)) == len(log)


def test_the_holdings_report_is_one_self_contained_page_against_the_index(book_db) -> None:
    html = workflows.holdings_report_html(workflows.load_book(book_db, AS_OF))
    assert html.startswith("<!DOCTYPE html>") and "Holdings as of 2018-06-29" in html
    assert "^GSPC" in html and html_sources(html).external == []
