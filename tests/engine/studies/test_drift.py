"""Drift: PSI near 0 for the same distribution, above 0.2 for a shifted feature, and the
retrain recommendation that names it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.metrics import hit_rate
from engine.modeling.calibration_scores import expected_calibration_error
from engine.studies.drift import (
    DriftThresholds,
    feature_drift,
    population_stability,
    recommend_retrain,
    rolling_forecast_quality,
)


def frames(shift: float = 0.0, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    baseline = pd.DataFrame(
        {
            "rsi_14": rng.normal(50, 10, 5000),
            "ret_5d": rng.normal(0, 0.02, 5000),
            "vol_ratio_5_20": rng.lognormal(0, 0.3, 5000),
        }
    )
    recent = pd.DataFrame(
        {
            "rsi_14": rng.normal(50, 10, 1500) + shift * 10,
            "ret_5d": rng.normal(0, 0.02, 1500),
            "vol_ratio_5_20": rng.lognormal(0, 0.3, 1500),
        }
    )
    return baseline, recent


def quality(n_days: int = 120, calibrated: bool = True, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=n_days)
    index = pd.MultiIndex.from_product(
        [[f"T{i}" for i in range(20)], dates], names=["ticker", "date"]
    )
    p = rng.uniform(0.3, 0.7, len(index))
    up = rng.uniform(size=len(index)) < (p if calibrated else 1 - p)
    ret = np.where(up, 1, -1) * rng.uniform(0.001, 0.03, len(index))
    return rolling_forecast_quality(
        pd.DataFrame({"p": p, "label": up.astype(float), "ret": ret}, index=index)
    )


def test_same_distribution_gives_psi_near_zero_and_no_recommendation() -> None:
    baseline, recent = frames()
    drift = feature_drift(baseline, recent)
    assert (drift["psi"] < 0.02).all() and not drift["drifted"].any()
    assert (drift["ks_pvalue"] > 0.001).all()
    retrain, reasons = recommend_retrain(drift, quality(), baseline_sharpe=0.0)
    assert not retrain and reasons == []


def test_a_shifted_feature_is_named_in_the_recommendation() -> None:
    baseline, recent = frames(shift=1.0)
    drift = feature_drift(baseline, recent)
    assert drift.iloc[0]["feature"] == "rsi_14" and drift.iloc[0]["psi"] > 0.2
    assert drift.iloc[0]["ks_pvalue"] < 1e-6
    retrain, reasons = recommend_retrain(drift, quality(), baseline_sharpe=0.0)
    assert retrain and "rsi_14" in reasons[0] and "1 of 3 features" in reasons[0]


def test_ks_pvalues_agree_with_the_exact_test_at_monitor_sample_sizes() -> None:
    from scipy import stats  # noqa: PLC0415 - the reference, only here

    baseline, recent = frames(shift=0.02)
    drift = feature_drift(baseline, recent).set_index("feature")
    for column in baseline:
        exact = stats.ks_2samp(baseline[column], recent[column], method="exact")
        assert drift.at[column, "ks_statistic"] == pytest.approx(exact.statistic)
        assert drift.at[column, "ks_pvalue"] == pytest.approx(exact.pvalue, abs=0.01)


def test_psi_by_hand() -> None:
    baseline = np.arange(100.0)
    recent = np.arange(50.0, 100.0)  # all in the top five deciles
    e, a = np.full(10, 0.1), np.r_[np.full(5, 1e-4), np.full(5, 0.2)]
    assert population_stability(baseline, recent) == pytest.approx(
        float(np.sum((a - e) * np.log(a / e)))
    )


def test_rolling_quality_and_its_thresholds() -> None:
    good, bad = quality(calibrated=True), quality(calibrated=False)
    assert good["hit_rate"].iloc[-1] > 0.55 and bad["hit_rate"].iloc[-1] < 0.45
    assert good["ece"].iloc[-1] < 0.05 < bad["ece"].iloc[-1]
    assert good["sharpe"].iloc[-1] > 0 > bad["sharpe"].iloc[-1]
    empty = feature_drift(*frames())
    retrain, reasons = recommend_retrain(empty, bad, baseline_sharpe=1.0)
    assert (
        retrain
        and any("rolling ECE" in r for r in reasons)
        and any("rolling Sharpe" in r for r in reasons)
    )
    loose = DriftThresholds(ece=0.99, sharpe_drop=99.0)
    assert recommend_retrain(empty, bad, 1.0, loose) == (False, [])


def test_rolling_quality_matches_window_by_window_filtering() -> None:
    """Rows in no particular order, tied forecasts: each date's figures equal those of its
    window's rows taken from the frame in the frame's own order (the equal-mass bins break
    ties by position)."""
    rng = np.random.default_rng(3)
    dates = pd.bdate_range("2021-01-04", periods=90)
    index = pd.MultiIndex.from_product(
        [[f"T{i}" for i in range(15)], dates], names=["ticker", "date"]
    )
    p = np.round(rng.uniform(0.3, 0.7, len(index)), 2)
    up = (rng.uniform(size=len(index)) < p).astype(float)
    outcomes = pd.DataFrame(
        {"p": p, "label": up, "ret": np.where(up > 0, 1, -1) * rng.uniform(0.001, 0.03, len(p))},
        index=index,
    ).sample(frac=0.9, random_state=1)
    window = 21
    result = rolling_forecast_quality(outcomes, window)
    frame = outcomes.reset_index()
    days = np.sort(frame["date"].unique())
    assert list(result.index) == list(days)
    for end in (0, 20, 21, 60, len(days) - 1):
        rows = frame[frame["date"].between(days[max(0, end - window + 1)], days[end])]
        expected = expected_calibration_error(rows["label"].to_numpy(), rows["p"].to_numpy())
        assert result["ece"].iloc[end] == expected
        if end >= window - 1:
            hits = [
                hit_rate(d["label"].to_numpy(), d["p"].to_numpy()) for _, d in frame.groupby("date")
            ][end - window + 1 : end + 1]
            assert result["hit_rate"].iloc[end] == pytest.approx(np.mean(hits), abs=1e-15)


def test_drift_matches_the_test_run_feature_by_feature() -> None:
    """One KS call over every column gives each feature's own two-sample test on its finite
    values; a feature with no finite value on a side has no KS figures."""
    from scipy import stats  # noqa: PLC0415 - the reference, only here

    baseline, recent = frames(shift=0.3)
    baseline.loc[::7, "rsi_14"] = np.nan
    recent.loc[::5, "ret_5d"] = np.inf
    baseline["empty"], recent["empty"] = np.nan, 1.0
    drift = feature_drift(baseline, recent).set_index("feature")
    for column in ("rsi_14", "ret_5d", "vol_ratio_5_20"):
        base, new = baseline[column].to_numpy(), recent[column].to_numpy()
        ks = stats.ks_2samp(base[np.isfinite(base)], new[np.isfinite(new)], method="asymp")
        assert drift.at[column, "ks_statistic"] == ks.statistic
        assert drift.at[column, "ks_pvalue"] == ks.pvalue
        assert drift.at[column, "psi"] == population_stability(base, new)
    assert drift.loc["empty"].drop("drifted").isna().all() and not drift.at["empty", "drifted"]
    assert list(drift.columns) == ["psi", "ks_statistic", "ks_pvalue", "drifted"]
