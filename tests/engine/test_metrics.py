"""Metric values and their date-block bootstrap intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from engine.metrics import (
    accuracy,
    auc,
    base_rate_accuracy,
    bootstrap_interval,
    classification_metrics,
    daily_ic,
    ic_summary,
)
from engine.modeling.calibration import brier, logarithmic_loss


def test_bootstrap_interval_of_a_mean_matches_the_normal_theory() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(0.0, 1.0, 4000)
    interval = bootstrap_interval(np.mean, x, n_boot=800, seed=2)
    assert interval.estimate == pytest.approx(x.mean())
    assert interval.high - interval.low == pytest.approx(2 * 1.96 / np.sqrt(4000), rel=0.15)
    assert interval.contains(0.0)


def test_resampling_whole_dates_widens_the_interval_when_rows_share_a_date() -> None:
    rng = np.random.default_rng(3)
    dates = np.repeat(np.arange(200), 20)
    x = np.repeat(rng.normal(0, 1, 200), 20) + rng.normal(0, 0.1, 4000)  # a common daily shock
    by_row = bootstrap_interval(np.mean, x, n_boot=400)
    by_date = bootstrap_interval(np.mean, x, groups=dates, n_boot=400)
    assert (by_date.high - by_date.low) > 3 * (by_row.high - by_row.low)


def test_noise_forecasts_have_auc_and_ic_intervals_around_no_skill() -> None:
    rng = np.random.default_rng(4)
    dates = np.repeat(pd.bdate_range("2020-01-01", periods=300).to_numpy(), 30)
    y = rng.integers(0, 2, len(dates))
    p = rng.uniform(size=len(dates))
    metrics = classification_metrics(y, p, dates, n_boot=200)
    assert metrics["auc"].contains(0.5)
    assert metrics["base_rate_accuracy"] == pytest.approx(max(y.mean(), 1 - y.mean()))
    ic = daily_ic(dates, p, rng.normal(size=len(dates)))
    summary = ic_summary(ic["ic"])
    assert summary["mean"].contains(0.0) and summary["days"] == 300


def test_daily_ic_by_hand() -> None:
    dates = np.array(["d1"] * 4 + ["d2"] * 4 + ["d3"] * 2)
    prediction = np.array([1, 2, 3, 4, 1, 2, 3, 4, 1, 2], dtype=float)
    realized = np.array([10, 20, 30, 40, 4, 3, 2, 1, 5, 6], dtype=float)
    ic = daily_ic(dates, prediction, realized)
    assert list(ic.index) == ["d1", "d2"]  # d3 has too few names
    assert ic.loc["d1", "ic"] == pytest.approx(1.0) and ic.loc["d2", "rank_ic"] == pytest.approx(
        -1.0
    )


def test_accuracy_against_the_base_rate() -> None:
    y = np.array([1, 1, 1, 0])
    assert accuracy(y, np.array([0.9, 0.6, 0.4, 0.2])) == 0.75
    assert base_rate_accuracy(y) == 0.75


def test_fast_metrics_agree_with_scikit_learn() -> None:
    rng = np.random.default_rng(9)
    y = rng.integers(0, 2, 3000)
    p = np.round(rng.uniform(size=3000), 2)  # with ties
    assert auc(y, p) == pytest.approx(roc_auc_score(y, p))
    assert brier(y, p) == pytest.approx(brier_score_loss(y, p))
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    assert logarithmic_loss(y, p) == pytest.approx(log_loss(y, clipped))
    with pytest.raises(ValueError, match="both outcomes"):
        auc(np.ones(5), p[:5])
