"""Scenario replays: the model for a window never saw data from inside or after it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.data.schema import FetchResult
from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.modeling.learners import LearnerParams
from engine.studies.scenarios import SCENARIOS, Scenario, covered, pass_criteria

WINDOW = Scenario(
    "test window", pd.Timestamp("2022-03-01"), pd.Timestamp("2022-05-31"), "synthetic"
)
LEARNER = LearnerParams(n_estimators=150)


def store_with(prices: pd.DataFrame, path) -> str:
    assert workflows.ingest(path, FetchResult("synthetic", prices, True)).status == "ok"
    return str(path)


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return make_panel(10, 900, kind="planted", seed=41).prices


def test_the_model_never_sees_the_window_or_what_follows(panel, tmp_path) -> None:
    tickers = sorted(panel["ticker"].unique())
    clean = store_with(panel, tmp_path / "clean.db")
    result = workflows.run_scenario(
        clean, WINDOW, tickers, history_years=2, learner=LEARNER, n_boot=20
    )
    assert result.trained_through < WINDOW.start
    assert result.backtest.equity.index.min() >= WINDOW.start
    assert result.backtest.equity.index.max() <= WINDOW.end
    # Rewrite history from the window's first day on: the fitted model must not change.
    rng = np.random.default_rng(0)
    later = panel["date"] >= WINDOW.start
    scrambled = panel.copy()
    factor = rng.uniform(0.5, 1.5, later.sum())
    for column in ("open", "high", "low", "close"):
        scrambled.loc[later, column] = scrambled.loc[later, column] * factor
    other = store_with(scrambled, tmp_path / "scrambled.db")
    again = workflows.run_scenario(
        other, WINDOW, tickers, history_years=2, learner=LEARNER, n_boot=20
    )
    before = compute_features(panel[panel["date"] < WINDOW.start]).tail(500)
    np.testing.assert_array_equal(result.model.raw_proba(before), again.model.raw_proba(before))
    np.testing.assert_array_equal(
        result.model.predict_proba(before), again.model.predict_proba(before)
    )
    assert not result.forecasts["p"].equals(again.forecasts["p"])  # the window itself differs


def test_scenario_reports_hit_rate_regimes_and_trials(panel, tmp_path) -> None:
    tickers = sorted(panel["ticker"].unique())
    db = store_with(panel, tmp_path / "store.db")
    result = workflows.run_scenario(
        db, WINDOW, tickers, history_years=2, learner=LEARNER, n_boot=20
    )
    assert 0 <= result.hit_rate <= 1
    assert result.statistics["n_trials"] == 1
    assert set(result.benchmarks) == {"equal-weight buy and hold"}
    assert result.checks == []
    with pytest.raises(ValueError, match="no stored data inside"):
        late = Scenario("future", pd.Timestamp("2024-01-02"), pd.Timestamp("2024-02-01"), "")
        workflows.run_scenario(db, late, tickers, history_years=2, learner=LEARNER)


def test_criteria_and_coverage() -> None:
    covid, rates = SCENARIOS["2020-02..04 COVID crash"], SCENARIOS["2022-01..06 rates"]
    assert pass_criteria(covid, 0.1, -0.20)[0]["passed"]
    assert not pass_criteria(covid, 0.1, -0.30)[0]["passed"]
    assert (
        not pass_criteria(rates, 0.2, -0.1)[0]["passed"]
        and pass_criteria(rates, 0.4, -0.1)[0]["passed"]
    )
    names = [s.name for s in covered(pd.Timestamp("1990-01-02"), pd.Timestamp("2022-12-28"), 5)]
    assert "2008-09 GFC" in names and "2022-01..06 rates" in names
    assert "2023 AI melt-up" not in names
