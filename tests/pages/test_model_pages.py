"""Training, Forecasts and Calibration pages in AppTest on a seeded store."""

from __future__ import annotations

import json
import os
import time
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engine import workflows
from engine.features import REGIME_NAMES
from engine.modeling.explain import Thresholds
from engine.modeling.labels import LabelParams
from engine.modeling.training import TrainConfig
from engine.studies.drift import DriftThresholds
from engine.trading.execution import CostModel
from engine.trading.sizing import SizingParams
from engine.workflows.modeling.jobs import training_log_path
from store.db import open_db
from store.live_calibration import LiveCalibrationRepository
from store.models import ModelRunRepository
from store.paper import PaperLedger
from store.studies import study_repository
from tests.engine.modeling.test_tuning import trial_count

# training jobs launched from the page: minutes each on a loaded machine
pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def open_page(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_pages_without_a_model_say_so(app: AppTest) -> None:
    for page in ("forecasts", "calibration"):
        at = open_page(app, page)
        assert any("No trained model yet" in i.value for i in at.info)


def test_pages_follow_the_first_models_training_then_say_there_is_no_model(
    app: AppTest, seeded_db: Path
) -> None:
    run_id = "first-launch-20990101-000000-abcdef"
    log = training_log_path(run_id)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(json.dumps({"progress": 0.42, "message": "Fold 28 of 66: fitting"}) + "\n")
    with closing(open_db(seeded_db)) as db:  # a live process (this one) holds the job's lock
        ModelRunRepository(db).acquire_lock(run_id, os.getpid())
    for page in ("review", "forecasts", "calibration"):
        at = open_page(app, page)
        assert any(f"run {run_id} is training in the background" in i.value for i in at.info)
        bars = [(bar.proto.value, bar.proto.text) for bar in at.get("progress")]
        assert bars == [(42, "Fold 28 of 66: fitting")] and not at.error
        assert not any("No trained model" in i.value or "No active" in i.value for i in at.info)
    with closing(open_db(seeded_db)) as db:  # the job ended without a model
        ModelRunRepository(db).release_lock(run_id)
    at = open_page(app, "review")
    assert any("No active model" in i.value for i in at.info) and not at.get("progress")


def test_forecasts_page_lists_the_watchlist_with_reasons(trained_app) -> None:
    app, record = trained_app
    at = open_page(app, "forecasts")
    metrics = {m.label: int(m.value) for m in at.metric}
    assert metrics["Tickers"] == 20
    assert metrics["BUY"] + metrics["SELL"] + metrics["HOLD"] == 20
    table = at.dataframe[0].value
    assert len(table) == 20 and table["p_up"].between(0, 1).all()
    assert table["confidence"].is_monotonic_decreasing
    assert record.run_id in " ".join(c.value for c in at.caption)
    at.multiselect(key="forecasts.directions").set_value(["HOLD"]).run()
    assert set(at.dataframe[0].value["direction"]) <= {"HOLD"}
    at.slider(key="forecasts.sell").set_value(0.5).run()
    at.slider(key="forecasts.buy").set_value(0.5).run()
    assert any("must be below" in e.value for e in at.error)


def test_forecasts_page_shows_the_live_recalibration_in_force(trained_app, trained_db) -> None:
    app, record = trained_app
    with closing(open_db(trained_db[0])) as db:  # a version fitted before the as-of date
        LiveCalibrationRepository(db).append(
            record.run_id,
            pd.Timestamp("2018-07-02"),
            outcomes=50,
            outcome_dates=(pd.Timestamp("2018-06-01"), pd.Timestamp("2018-07-02")),
            params={"intercept": -1.0, "slope": 1.0},
            shrinkage=1.0,
        )
    at = open_page(app, "forecasts")
    table = at.dataframe[0].value
    logit = np.log(table["p_up"] / (1 - table["p_up"]))
    np.testing.assert_allclose(table["p_live"], 1 / (1 + np.exp(-(logit - 1.0))), rtol=1e-9)
    assert any("live recalibration version 1" in c.value for c in at.caption)


def test_forecasts_page_refuses_a_tampered_bundle(trained_app) -> None:
    app, record = trained_app
    booster = Path(record.artifact_dir) / "booster.ubj"
    original = booster.read_bytes()
    booster.write_bytes(original[:-10])
    try:
        at = open_page(app, "forecasts")
        assert any("booster.ubj" in e.value and "not loaded" in e.value for e in at.error)
    finally:
        booster.write_bytes(original)


def test_calibration_page_compares_methods_and_regimes(trained_app) -> None:
    app, _ = trained_app
    at = open_page(app, "calibration")
    methods = at.dataframe[0].value
    assert list(methods["method"]) == [
        "run's method",
        "uncalibrated",
        "platt",
        "isotonic",
        "beta",
        "climatology",
    ]
    scored = methods.iloc[:-1]
    assert (scored["ece_low"] <= scored["ece"]).all() and (
        scored["ece"] <= scored["ece_high"]
    ).all()
    climatology = methods.iloc[-1]
    assert climatology["brier"] == pytest.approx(climatology["brier_climatology"])
    # raw, calibrated and climatology Brier side by side
    assert [m.label for m in at.metric][:3] == [
        "Raw Brier",
        "Calibrated Brier",
        "Climatology Brier",
    ]
    assert len(at.get("plotly_chart")) == 2
    at.multiselect(key="calibration.show").set_value(["platt", "isotonic", "beta"]).run()
    assert not at.exception


def train_from_page(
    at: AppTest, db: Path, start: str, seconds: float, *, trials: int = 0, followed: bool = False
) -> str:
    """Fill the Training form (start to 2018-06-29, 12/6-month windows, ``trials``), start
    the job, rerun the page until it ends (``followed``: asserting the page shows its
    progress meanwhile); the launched run id."""
    at.date_input(key="training.start").set_value(pd.Timestamp(start).date())
    at.date_input(key="training.as_of").set_value(pd.Timestamp("2018-06-29").date())
    at.number_input(key="training.train").set_value(12)
    at.number_input(key="training.test").set_value(6)
    if trials:
        at.number_input(key="training.trials").set_value(trials)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, [e.value for e in at.exception]
    launched = at.session_state["training.launched"]
    deadline = time.monotonic() + seconds
    while workflows.training_status(db) is not None and time.monotonic() < deadline:
        if followed:
            assert any(p for p in at.get("progress")) or at.code  # the job is followed
        time.sleep(2)
        at.run()
    assert workflows.training_status(db) is None, f"training did not finish in {seconds:g} s"
    at.run()
    return launched


def test_training_page_launches_follows_and_registers_a_run(app: AppTest, seeded_db: Path) -> None:
    at = open_page(app, "training")
    launched = train_from_page(at, seeded_db, "2016-01-01", 240, followed=True)
    assert any(f"Run {launched}: complete" in s.value for s in at.success)
    # the form comes back with what was submitted, not the defaults
    assert str(at.date_input(key="training.start").value) == "2016-01-01"
    assert at.number_input(key="training.train").value == 12
    runs = at.dataframe[0].value
    assert runs.loc[runs["run"] == launched, "status"].item() == "complete"
    at.button(key="runs.activate").click().run()
    assert workflows.load_runs(seeded_db).set_index("run_id").at[launched, "active"]


def test_training_page_tunes_and_every_trial_counts(app: AppTest, seeded_db: Path) -> None:
    at = open_page(app, "training")
    trials_before = trial_count(seeded_db)
    launched = train_from_page(at, seeded_db, "2016-06-30", 400, trials=2)
    assert any(f"Run {launched}: complete" in s.value for s in at.success)
    tuning = workflows.load_run(seeded_db, launched).metrics["tuning"]
    assert tuning["n_trials"] == 2 and tuning["study_name"] == f"tune-{launched}"
    assert trial_count(seeded_db) == trials_before + 2  # each trial counts


def test_backtest_page_runs_and_reports_intervals_and_trials(trained_app) -> None:
    app, record = trained_app
    at = open_page(app, "backtest")
    assert any("Run backtest" in i.value for i in at.info)
    next(b for b in at.button if b.label == "Run backtest").click().run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Trials counted"] == "1"
    stats = at.dataframe[0].value.set_index("statistic")
    assert stats.loc["sharpe", "low"] <= stats.loc["sharpe", "value"] <= stats.loc["sharpe", "high"]
    assert stats.loc["costs", "value"] > 0
    charts = {chart.key for chart in at.get("plotly_chart")}
    assert {"backtest.equity", "backtest.attribution"} <= charts
    assert charts <= {"backtest.equity", "backtest.attribution", "backtest.risk_factors"}
    assert "Download report (HTML)" in [b.label for b in at.get("download_button")]
    attribution = next(d.value for d in at.dataframe if "cumulative" in d.value.columns)
    assert {"momentum", "specific", "trading and costs", "total"} <= set(attribution.index)
    by_regime = next(d.value for d in at.dataframe if "Regime" in d.value.columns)
    by_sector = next(d.value for d in at.dataframe if "Sector" in d.value.columns)
    assert set(by_regime["Regime"]) <= set(REGIME_NAMES)
    assert "trading and costs" in set(by_sector["Sector"])
    assert by_sector["Sharpe"].str.fullmatch(r"(-?\d+\.\d\d \[-?\d+\.\d\d, -?\d+\.\d\d\])?").all()
    replays = next(d.value for d in at.dataframe if "worst_drawdown" in d.value.columns)
    assert "2008-09 GFC" in set(replays["scenario"]) and replays["book_return"].notna().all()
    shocks = next(d.value for d in at.dataframe if "shock" in d.value.columns)
    assert shocks["shock"].tolist() == ["index -10%", "index -20%"]
    assert any("var" in d.value.columns for d in at.dataframe)  # the book's VaR / CVaR
    # a factor-neutral book on the risk model: every risk factor netted out
    at.selectbox(key="backtest.method").set_value("factor_neutral")
    at.selectbox(key="backtest.neutral").set_value("factors")
    at.selectbox(key="backtest.covariance").set_value("factor")
    next(b for b in at.button if b.label == "Run backtest").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert {m.label: m.value for m in at.metric}["Trials counted"] == "2"
    assert "factor_neutral" in " ".join(c.value for c in at.caption)


def test_paper_page_analyses_the_book(trained_app) -> None:
    app, _ = trained_app
    for day in ("2022-12-27", "2022-12-28"):
        app.sidebar.date_input(key="global.as_of").set_value(pd.Timestamp(day).date())
        at = open_page(app, "paper")
        at.button(key="paper.step").click().run()
    at.toggle(key="paper.analyse").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Stress tests of the book on 2022-12-28" in s.value for s in at.subheader)
    assert any("shock" in d.value.columns for d in at.dataframe)
    if any(s.value.startswith("Risk decomposition") for s in at.subheader):  # holds a name
        assert any("worst_move" in d.value.columns for d in at.dataframe)


def test_paper_page_runs_a_step_and_a_tripped_guardrail_blocks_the_next(
    trained_app, trained_db
) -> None:
    app, _ = trained_app
    seeded_db, _ = trained_db
    app.sidebar.date_input(key="global.as_of").set_value(pd.Timestamp("2022-12-27").date())
    at = open_page(app, "paper")
    assert any("No paper account yet" in i.value for i in at.info)
    at.button(key="paper.step").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Step 2022-12-27" in s.value for s in at.success)
    journal = next(d.value for d in at.dataframe if "client_order_id" in d.value.columns)
    steps = workflows.load_paper_state(seeded_db).steps
    assert len(steps) == 1 and len(journal) == steps["orders"].iloc[0]
    assert (journal["status"] == "open").all()
    with open_db(seeded_db) as db:
        PaperLedger(db).set_halt(True, "circuit breaker: equity -10.4% from its peak")
    at.sidebar.date_input(key="global.as_of").set_value(pd.Timestamp("2022-12-28").date())
    at.run()
    at.button(key="paper.step").click().run()
    assert any("paused by the circuit breaker" in w.value for w in at.warning)
    assert any("Trading is paused" in e.value for e in at.error)
    assert workflows.load_paper_state(seeded_db).steps["orders"].iloc[-1] == 0
    assert at.button(key="paper.resume").disabled  # until the resume is confirmed
    at.checkbox(key="paper.resume_sure").check().run()
    at.button(key="paper.resume").click().run()
    assert not workflows.load_paper_state(seeded_db).account.halted


def test_monitor_page_reports_drift_and_opens_training_prefilled(trained_app) -> None:
    app, record = trained_app
    at = open_page(app, "monitor")
    drift = at.dataframe[0].value
    assert {"feature", "psi", "ks_statistic", "ks_pvalue", "drifted"} <= set(drift.columns)
    assert len(drift) > 20 and drift["psi"].dropna().is_monotonic_decreasing
    assert len(at.get("plotly_chart")) == 1
    # a model trained as of mid-2018 looked at in December 2022: the features have moved
    assert "Retraining is recommended" in at.warning[0].value
    at.button(key="monitor.retrain").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Training"]
    assert str(at.date_input(key="training.as_of").value) == "2022-12-28"
    assert not at.warning  # prefilled without a default-value clash


def test_scenarios_page_replays_covid_with_its_verdict(app: AppTest) -> None:
    at = open_page(app, "scenarios")
    choices = at.selectbox(key="scenarios.choice").options
    assert "2008-09 GFC" in choices and "2023 AI melt-up" not in choices
    at.selectbox(key="scenarios.choice").set_value("2020-02..04 COVID crash").run()
    at.slider(key="scenarios.years").set_value(3).run()
    at.button(key="scenarios.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    verdicts = [m.value for m in at.success] + [m.value for m in at.error]
    assert any("drawdown under 25%" in v for v in verdicts)
    assert "2020-01-31" in " ".join(c.value for c in at.caption)
    assert len(at.get("plotly_chart")) == 2


def test_ablation_page_runs_a_small_study_and_reloads_it(app: AppTest, seeded_db: Path) -> None:
    at = open_page(app, "ablation")
    assert any("No ablation study yet" in i.value for i in at.info)
    at.multiselect(key="ablation.variants").set_value(["patterns only", "+ research families"])
    at.date_input(key="ablation.start").set_value(pd.Timestamp("2019-06-28").date())
    at.number_input(key="ablation.train").set_value(12)
    at.checkbox(key="ablation.dask").uncheck()
    at.multiselect(key="ablation.learners").set_value(["xgboost", "linear"])
    # four walk-forwards in one script run: more than AppTest's default 60 s on a busy box
    next(b for b in at.button if b.label == "Run ablation").click().run(timeout=240)
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "variant" in d.value.columns)
    assert list(table["variant"]) == ["patterns only", "+ research families"] * 2
    assert list(table["learner"]) == ["xgboost", "xgboost", "linear", "linear"]
    steps = next(d.value for d in at.dataframe if "step" in d.value.columns)
    assert list(steps["learner"]) == ["xgboost", "linear"]
    assert set(steps["auc_verdict"]) <= {"gain", "loss", "no evidence"}
    assert len(workflows.load_studies(seeded_db, "ablation")) == 1
    assert trial_count(seeded_db) == 4  # each learner's variant is a trial
    at.multiselect(key="ablation.learners").set_value([])
    next(b for b in at.button if b.label == "Run ablation").click().run()
    assert "Choose at least one learner." in [e.value for e in at.error]


PAGES = (
    "review",
    "signals",
    "forecasts",
    "calibration",
    "training",
    "backtest",
    "ablation",
    "scenarios",
    "paper",
    "gate",
    "monitor",
    "data",
)


# page -> (widget kind, key) -> the dataclass default the widget must start at
DATACLASS_DEFAULTS = {
    "forecasts": {("slider", "forecasts.buy"): Thresholds.buy,
                  ("slider", "forecasts.sell"): Thresholds.sell},
    "training": {("number_input", "training.horizon"): LabelParams.horizon,
                 ("number_input", "training.train"): TrainConfig.train_months,
                 ("number_input", "training.test"): TrainConfig.test_months},
    "backtest": {("number_input", "backtest.per_share"): CostModel.commission_per_share,
                 ("number_input", "backtest.minimum"): CostModel.commission_min,
                 ("number_input", "backtest.spread"): CostModel.half_spread_bps,
                 ("number_input", "backtest.impact"): CostModel.impact_coefficient,
                 ("number_input", "backtest.kelly"): SizingParams.kelly_fraction,
                 ("number_input", "backtest.cap"): SizingParams.max_weight},
    "monitor": {("number_input", "monitor.psi"): DriftThresholds.psi,
                ("number_input", "monitor.share"): DriftThresholds.drifted_share,
                ("number_input", "monitor.ece"): DriftThresholds.ece,
                ("number_input", "monitor.drop"): DriftThresholds.sharpe_drop},
}  # fmt: skip


def test_every_page_renders_and_starts_at_the_dataclasses_defaults(trained_app) -> None:
    # before: the pages copied 0.55, 5.0, 0.25, 18, ... from the dataclasses
    app, _ = trained_app
    for page in PAGES:
        at = open_page(app, page)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title, page
        shown = {
            (kind, key): getattr(at, kind)(key=key).value
            for kind, key in DATACLASS_DEFAULTS.get(page, {})
        }
        assert shown == DATACLASS_DEFAULTS.get(page, {}), page


def test_the_daily_pipeline_runs_offline_on_the_sample(app: AppTest) -> None:
    app.button(key="review.pipeline").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("Stored" in s.value for s in app.success)
    assert any("Forecasts and drift skipped: no active model" in i.value for i in app.info)


def test_the_daily_pipeline_forecasts_and_watches_drift_with_a_model(trained_app) -> None:
    app, record = trained_app
    app.button(key="review.pipeline").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert any("Stored" in s.value for s in app.success)
    assert any("Drift:" in e.value for e in app.warning)  # a 2018 model seen in 2022
    assert {"Top of the ranking", "Bottom of the ranking"} <= {s.value for s in app.subheader}
    # the review states the run's out-of-sample verdict on its ranking in words
    verdict = workflows.ranking_skill(record.metrics)
    shown = app.warning if not verdict.shown else app.success
    assert verdict.text in [element.value for element in shown]


def _steps(learners: list[str] | None) -> pd.DataFrame:
    steps = pd.DataFrame(
        {
            "step": ["patterns only -> + regime"] * 2,
            "auc_verdict": ["gain", "no evidence"],
            "sharpe_verdict": ["no evidence", "no evidence"],
        }
    )
    return steps if learners is None else steps.assign(learner=learners)


@pytest.mark.parametrize(
    ("learners", "said"),
    [
        (None, "patterns only -> + regime"),
        (["xgboost", "linear"], "xgboost: patterns only -> + regime"),
    ],
    ids=["saved before the learner axis", "two learners"],
)
def test_the_ablation_page_names_the_learner_of_a_gain_when_several_ran(
    app: AppTest, seeded_db: Path, learners, said
) -> None:
    table = pd.DataFrame({"variant": ["patterns only", "+ regime"], "auc": [0.5, 0.52]})
    settings = {"tickers": ["AAPL", "KO"], "start": "2019-06-28"}
    with closing(open_db(seeded_db)) as db:
        study_repository(db, "ablation").save(settings, table, _steps(learners))
    at = open_page(app, "ablation")
    assert not at.exception, [e.value for e in at.exception]
    assert f"Steps with evidence of a gain: {said}" in [s.value for s in at.success]
