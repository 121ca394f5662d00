"""Reasons: xgboost's contributions equal shap's, sum to the margin, and read as words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap

from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.modeling.evaluation import make_dataset
from engine.modeling.explain import Thresholds, compute_forecast_frame, compute_reasons, describe
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.learners import XGBoostLearner


@pytest.fixture(scope="module")
def fitted():
    panel = make_panel(30, 700, kind="planted", seed=12)
    data = make_dataset(compute_features(panel.prices), compute_labels(panel.prices, LabelParams()))
    dates = data.index.get_level_values("date")
    cut = np.sort(dates.unique())[-60]
    train, test = data[dates < cut], data[dates >= cut]
    model = XGBoostLearner().fit(train, train["label"], train["end_date"])
    return model, test


def test_contributions_match_shap_and_sum_to_the_margin(fitted) -> None:
    model, test = fitted
    rows = test.head(200)
    contributions = model.contributions(rows)
    explainer = shap.TreeExplainer(model.booster_)
    selected = model.processed_values(rows)
    reference = explainer.shap_values(selected)
    np.testing.assert_allclose(contributions.drop(columns="bias").to_numpy(), reference, atol=1e-4)
    margin = contributions.sum(axis=1).to_numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-margin)), model.raw_proba(rows), atol=1e-5)


def test_reasons_name_the_strongest_terms_in_words(fitted) -> None:
    model, test = fitted
    rows = test.head(20)
    reasons = compute_reasons(model.contributions(rows), rows)
    assert len(reasons) == 20
    first = reasons.iloc[0].split("; ")
    assert 1 <= len(first) <= 5
    assert all(sentence.endswith(" pp") for sentence in first)
    assert any("Close location" in r or "close location" in r for r in reasons)


def test_describe_reads_conventional_levels() -> None:
    assert describe("rsi_14", 27.0, 3.14) == "RSI 14 (Wilder) at 27, oversold: +3.1 pp"
    assert describe("ret_5d", -0.034, -1.26) == "5-day return at -3.4%: -1.3 pp"
    assert describe("regime_id", 9.0, 0.5) == (
        "Market regime is High vol · strong breadth · ATR contracting: +0.5 pp"
    )


def test_forecast_frame_directions_and_expected_return() -> None:
    reasons = pd.Series(["a", "b", "c"], index=["x", "y", "z"])
    frame = compute_forecast_frame(
        np.array([0.62, 0.5, 0.40]), reasons, np.array([0.0, np.nan, 11.0]), (0.03, -0.02)
    )
    assert frame["direction"].tolist() == ["BUY", "HOLD", "SELL"]
    assert frame["confidence"].tolist() == pytest.approx([0.24, 0.0, 0.2])
    assert frame["expected_return"].iloc[0] == pytest.approx(0.62 * 0.03 - 0.38 * 0.02)
    assert frame["regime"].iloc[1] == "unknown"
    with pytest.raises(ValueError, match="sell < buy"):
        Thresholds(buy=0.4, sell=0.6)
