"""Drift monitor: are recent features like the model's training baseline, and do recent
forecasts (those whose outcome is known) still hold up?

PSI bins come from the baseline's deciles; KS is scipy's two-sample test with the
asymptotic p-value (the exact one costs tens of milliseconds per feature at the monitor's
sample sizes, seconds per page, and agrees to within 0.01 there). A retrain is
recommended when PSI > 0.2 on more than 20% of features, when rolling ECE > 0.10, or when
the rolling Sharpe falls more than 0.15 below the model's out-of-sample Sharpe (all
thresholds editable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from engine.metrics import hit_rate, rolling_sharpe
from engine.modeling.calibration_scores import expected_calibration_error

DRIFT_COLUMNS = ("feature", "psi", "ks_statistic", "ks_pvalue", "drifted")


@dataclass(frozen=True)
class DriftThresholds:
    psi: float = 0.2
    drifted_share: float = 0.2
    ece: float = 0.10
    sharpe_drop: float = 0.15


def population_stability(baseline: np.ndarray, recent: np.ndarray, bins: int = 10) -> float:
    """PSI = sum (recent share - baseline share) x ln(recent share / baseline share) over
    bins cut at the baseline's quantiles (shares floored at 1e-4 so empty bins count)."""
    baseline = baseline[np.isfinite(baseline)]
    recent = recent[np.isfinite(recent)]
    if len(baseline) < bins or len(recent) == 0:
        return np.nan
    edges = np.unique(np.quantile(baseline, np.linspace(0, 1, bins + 1)[1:-1]))
    expected = np.bincount(np.searchsorted(edges, baseline, side="right"), minlength=len(edges) + 1)
    actual = np.bincount(np.searchsorted(edges, recent, side="right"), minlength=len(edges) + 1)
    e = np.maximum(expected / expected.sum(), 1e-4)
    a = np.maximum(actual / actual.sum(), 1e-4)
    return float(np.sum((a - e) * np.log(a / e)))


def feature_drift(
    baseline: pd.DataFrame, recent: pd.DataFrame, thresholds: DriftThresholds | None = None
) -> pd.DataFrame:
    """PSI and KS per feature present in both frames, worst first. KS runs once over every
    feature column (NaNs left out per column), not once per feature."""
    thresholds = thresholds or DriftThresholds()
    columns = baseline.columns.intersection(recent.columns)
    base, new = (
        np.where(np.isfinite(v), v, np.nan)  # an infinite value counts as missing
        for v in (baseline[columns].to_numpy(dtype=float), recent[columns].to_numpy(dtype=float))
    )
    psi = np.array([population_stability(base[:, j], new[:, j]) for j in range(len(columns))])
    statistic, pvalue = np.full(len(columns), np.nan), np.full(len(columns), np.nan)
    testable = np.isfinite(base).any(axis=0) & np.isfinite(new).any(axis=0)
    if testable.any():
        ks = stats.ks_2samp(
            base[:, testable], new[:, testable], axis=0, nan_policy="omit", method="asymp"
        )
        statistic[testable], pvalue[testable] = ks.statistic, ks.pvalue
    table = pd.DataFrame(
        {
            "feature": list(columns),
            "psi": psi,
            "ks_statistic": statistic,
            "ks_pvalue": pvalue,
            "drifted": psi > thresholds.psi,
        },
        columns=list(DRIFT_COLUMNS),
    )
    return table.sort_values("psi", ascending=False, na_position="last").reset_index(drop=True)


def sign_pnl(outcomes: pd.DataFrame) -> pd.Series:
    """By date, the return of trading each forecast's sign: the mean over tickers of
    sign(p - 0.5) x ret. ``outcomes`` is indexed by (ticker, date) with ``p`` and ``ret``."""
    pnl = np.sign(outcomes["p"] - 0.5) * outcomes["ret"]
    return pnl.groupby(level="date").mean().rename("pnl")


def rolling_forecast_quality(outcomes: pd.DataFrame, window: int = 63) -> pd.DataFrame:
    """By date: rolling ECE, hit rate and annualized Sharpe of trading each forecast's sign.

    ``outcomes`` is indexed by (ticker, date) with ``p`` (calibrated P(up)), ``label`` and
    ``ret`` (the realized forward return over ``horizon`` sessions): only forecasts whose
    outcome is known. The daily strategy return is ``sign_pnl``; the hit rate is the
    rolling mean of each date's ``engine.metrics.hit_rate``, the Sharpe
    ``engine.metrics.rolling_sharpe`` of the daily strategy returns.
    """
    frame = outcomes.reset_index()
    dates, day = np.unique(frame["date"].to_numpy(), return_inverse=True)
    label, p = frame["label"].to_numpy(dtype=float), frame["p"].to_numpy(dtype=float)
    by_day = np.argsort(day, kind="stable")
    bounds = np.searchsorted(day[by_day], np.arange(len(dates) + 1))
    hits = [
        hit_rate(label[rows], p[rows])
        for rows in (by_day[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True))
    ]
    daily = pd.DataFrame({"hit": hits}, index=pd.DatetimeIndex(dates, name="date"))
    daily["pnl"] = sign_pnl(outcomes)
    # each window's rows in the frame's own order: equal-mass bins break ties by position
    ece = []
    for end in range(len(dates)):
        inside = (day > end - window) & (day <= end)
        ece.append(expected_calibration_error(label[inside], p[inside]))
    min_periods = max(5, window // 3)
    hits = daily["hit"].rolling(window, min_periods=min_periods).mean()
    sharpe = rolling_sharpe(daily["pnl"], window, min_periods=min_periods)
    return pd.DataFrame({"ece": ece, "hit_rate": hits, "sharpe": sharpe}, index=daily.index)


def recommend_retrain(
    drift: pd.DataFrame,
    quality: pd.DataFrame,
    baseline_sharpe: float,
    thresholds: DriftThresholds | None = None,
) -> tuple[bool, list[str]]:
    """Whether to retrain, and each reason in words (naming the drifted features)."""
    thresholds = thresholds or DriftThresholds()
    reasons = []
    drifted = drift.loc[drift["drifted"], "feature"].tolist()
    if len(drift) and len(drifted) / len(drift) > thresholds.drifted_share:
        reasons.append(
            f"PSI above {thresholds.psi} on {len(drifted)} of {len(drift)} features: "
            + ", ".join(drifted)
        )
    latest = quality.dropna(how="all").iloc[-1] if len(quality.dropna(how="all")) else None
    if latest is not None and latest["ece"] > thresholds.ece:
        reasons.append(f"rolling ECE {latest['ece']:.3f} above {thresholds.ece}")
    if (
        latest is not None
        and np.isfinite(latest["sharpe"])
        and np.isfinite(baseline_sharpe)
        and latest["sharpe"] < baseline_sharpe - thresholds.sharpe_drop
    ):
        reasons.append(
            f"rolling Sharpe {latest['sharpe']:.2f} is more than {thresholds.sharpe_drop} below "
            f"the out-of-sample {baseline_sharpe:.2f}"
        )
    return bool(reasons), reasons
