"""Drift monitor: are recent features like the model's training baseline, and do recent
forecasts (those whose outcome is known) still hold up?

PSI bins come from the baseline's deciles; KS is scipy's two-sample test. A retrain is
recommended when PSI > 0.2 on more than 20% of features, when rolling ECE > 0.10, or when
the rolling Sharpe falls more than 0.15 below the model's out-of-sample Sharpe (all
thresholds editable).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from engine.modeling.calibration import expected_calibration_error

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
    """PSI and KS per feature present in both frames, worst first."""
    thresholds = thresholds or DriftThresholds()
    rows = []
    for column in baseline.columns.intersection(recent.columns):
        base = baseline[column].to_numpy(dtype=float)
        new = recent[column].to_numpy(dtype=float)
        psi = population_stability(base, new)
        finite_base, finite_new = base[np.isfinite(base)], new[np.isfinite(new)]
        if len(finite_base) and len(finite_new):
            ks = stats.ks_2samp(finite_base, finite_new)
            statistic, pvalue = float(ks.statistic), float(ks.pvalue)
        else:
            statistic, pvalue = np.nan, np.nan
        rows.append((column, psi, statistic, pvalue, bool(psi > thresholds.psi)))
    table = pd.DataFrame(rows, columns=list(DRIFT_COLUMNS))
    return table.sort_values("psi", ascending=False, na_position="last").reset_index(drop=True)


def rolling_forecast_quality(outcomes: pd.DataFrame, window: int = 63) -> pd.DataFrame:
    """By date: rolling ECE, hit rate and annualized Sharpe of trading each forecast's sign.

    ``outcomes`` is indexed by (ticker, date) with ``p`` (calibrated P(up)), ``label`` and
    ``ret`` (the realized forward return over ``horizon`` sessions): only forecasts whose
    outcome is known. The daily strategy return is the mean of sign(p - 0.5) x ret.
    """
    frame = outcomes.reset_index()
    frame["hit"] = ((frame["p"] >= 0.5) == (frame["label"] == 1)).astype(float)
    frame["pnl"] = np.sign(frame["p"] - 0.5) * frame["ret"]
    daily = frame.groupby("date").agg(hit=("hit", "mean"), pnl=("pnl", "mean"))
    dates = daily.index
    ece = []
    for end in range(len(dates)):
        start = max(0, end - window + 1)
        rows = frame[(frame["date"] >= dates[start]) & (frame["date"] <= dates[end])]
        ece.append(expected_calibration_error(rows["label"].to_numpy(), rows["p"].to_numpy()))
    roll = daily.rolling(window, min_periods=max(5, window // 3))
    sharpe = roll["pnl"].mean() / roll["pnl"].std() * np.sqrt(252)
    return pd.DataFrame({"ece": ece, "hit_rate": roll["hit"].mean(), "sharpe": sharpe}, index=dates)


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
