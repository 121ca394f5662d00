"""Metric values and their bootstrap intervals (over dates, rows or moving blocks)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

from engine.metrics import (
    auc,
    base_rate_accuracy,
    bootstrap_interval,
    classification_metrics,
    daily_ic,
    hit_rate,
    ic_summary,
    rank_rows,
    rolling_sharpe,
    sharpe,
)
from engine.modeling.calibration_scores import brier, logarithmic_loss


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
    assert hit_rate(y, np.array([0.9, 0.6, 0.4, 0.2])) == 0.75
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


def test_undefined_replicates_are_skipped_and_none_defined_gives_nan_bounds() -> None:
    dates = np.repeat(np.arange(6), 4)
    y = np.repeat([0, 0, 0, 1, 1, 1], 4)  # each date one class: many replicates have one
    p = np.linspace(0.1, 0.9, len(y))
    interval = bootstrap_interval(auc, y, p, groups=dates, n_boot=200)
    assert interval.estimate == 1.0 and interval.low == interval.high == 1.0

    def distinct_mean(x: np.ndarray) -> float:  # undefined once a row repeats
        return float(np.mean(x)) if len(np.unique(x)) == len(x) else np.nan

    never = bootstrap_interval(distinct_mean, np.arange(30.0), n_boot=20)
    assert never.estimate == 14.5 and np.isnan(never.low) and np.isnan(never.high)


def test_moving_blocks_see_serial_dependence_that_iid_rows_miss() -> None:
    rng = np.random.default_rng(5)
    shocks = rng.normal(size=1200)
    x = np.convolve(shocks, np.ones(20) / 20, mode="valid")  # strongly autocorrelated
    by_row = bootstrap_interval(np.mean, x, n_boot=300)
    by_block = bootstrap_interval(np.mean, x, block=40, n_boot=300)
    assert (by_block.high - by_block.low) > 2 * (by_row.high - by_row.low)


def test_blocks_of_dates_keep_each_dates_rows_and_see_dependence_across_dates() -> None:
    rng = np.random.default_rng(7)
    level = np.convolve(rng.normal(size=620), np.ones(20) / 20, mode="valid")  # per date
    dates = np.repeat(np.arange(len(level)), 4)
    x = np.repeat(level, 4) + rng.normal(0, 0.01, len(dates))
    shuffled = rng.permutation(len(x))  # the order of the rows must not matter
    by_date = bootstrap_interval(np.mean, x[shuffled], groups=dates[shuffled], n_boot=300)
    by_block = bootstrap_interval(
        np.mean, x[shuffled], groups=dates[shuffled], block=40, n_boot=300
    )
    assert by_block.estimate == pytest.approx(x.mean())
    assert (by_block.high - by_block.low) > 2 * (by_date.high - by_date.low)

    def whole_dates(values: np.ndarray, groups: np.ndarray) -> float:  # NaN unless 4 rows each
        return 1.0 if (np.unique(groups, return_counts=True)[1] % 4 == 0).all() else np.nan

    kept = bootstrap_interval(whole_dates, x, dates, groups=dates, block=7, n_boot=50)
    assert kept.low == kept.high == 1.0


def test_one_hit_rate_and_a_rolling_sharpe_that_agrees_with_sharpe() -> None:
    assert hit_rate(np.array([1, 0, 1, 0]), np.array([0.5, 0.49, 0.2, 0.7])) == 0.5
    rng = np.random.default_rng(6)
    returns = pd.Series(rng.normal(0.0005, 0.01, 80))
    returns.iloc[40:50] = 0.001  # a flat stretch: no Sharpe, as sharpe() says
    rolled = rolling_sharpe(returns, 20, min_periods=10)
    assert rolled.iloc[:9].isna().all()
    for end in range(9, 80):
        window = returns.iloc[max(0, end - 19) : end + 1].to_numpy()
        expected = sharpe(window)
        if np.isnan(expected):
            assert np.isnan(rolled.iloc[end]), end
        else:
            assert rolled.iloc[end] == pytest.approx(expected, rel=1e-9), end


def test_vectorized_daily_ic_matches_a_loop_over_dates_with_ties_and_gaps() -> None:
    rng = np.random.default_rng(12)
    dates = np.repeat(pd.bdate_range("2021-01-04", periods=60).to_numpy(), 25)
    prediction = np.round(rng.normal(size=len(dates)), 1)  # ties
    realized = np.round(rng.normal(size=len(dates)), 2)
    prediction[rng.uniform(size=len(dates)) < 0.15] = np.nan
    realized[rng.uniform(size=len(dates)) < 0.1] = np.nan
    prediction[dates == dates[0]] = 0.5  # no dispersion: no IC that date
    shuffle = rng.permutation(len(dates))
    dates, prediction, realized = dates[shuffle], prediction[shuffle], realized[shuffle]
    ic = daily_ic(dates, prediction, realized)
    frame = pd.DataFrame({"date": dates, "p": prediction, "r": realized}).dropna()
    expected = {
        date: (np.corrcoef(day["p"], day["r"])[0, 1], stats.spearmanr(day["p"], day["r"])[0])
        for date, day in frame.groupby("date")
        if day["p"].nunique() > 1
    }
    assert list(ic.index) == sorted(expected) and ic.index.name == "date"
    assert ic["ic"].to_numpy() == pytest.approx([v[0] for v in expected.values()])
    assert ic["rank_ic"].to_numpy() == pytest.approx([v[1] for v in expected.values()])
    assert (ic["names"] == frame.groupby("date").size().loc[ic.index]).all()


def test_rank_rows_is_scipy_rankdata_on_the_finite_entries() -> None:
    rng = np.random.default_rng(13)
    values = np.round(rng.normal(size=(30, 17)), 1)
    values[rng.uniform(size=values.shape) < 0.2] = np.nan
    ranks = rank_rows(values)
    for row, ranked in zip(values, ranks, strict=True):
        finite = np.isfinite(row)
        assert ranked[finite] == pytest.approx(stats.rankdata(row[finite]))
        assert np.isnan(ranked[~finite]).all()
