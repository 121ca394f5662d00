"""Calibration scores of probabilities against 0/1 outcomes: ECE, reliability curves
with Wilson intervals, Brier, log-loss, their intervals over dates, and the comparison of
calibration methods with climatology. Fitting the calibrators is ``calibration``'s job;
drawing these is ``engine.display``'s.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.metrics import N_BOOT, Interval, bootstrap_interval, wilson_interval
from engine.modeling.calibration import clip_probability


def equal_mass_bins(p: np.ndarray, n_bins: int) -> np.ndarray:
    """Bin index per row: ``n_bins`` bins holding (nearly) equal numbers of rows."""
    order = np.argsort(p, kind="stable")
    bins = np.empty(len(p), dtype=int)
    bins[order] = np.arange(len(p)) * n_bins // max(len(p), 1)
    return bins


def expected_calibration_error(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> float:
    """ECE with equal-mass bins: sum over bins of share x |observed rate - mean forecast|."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    bins = equal_mass_bins(p, n_bins)
    counts = np.bincount(bins, minlength=n_bins)
    filled = counts > 0
    gaps = np.abs(np.bincount(bins, y, n_bins) - np.bincount(bins, p, n_bins))[filled]
    return float(np.sum(gaps / max(len(p), 1)))


def reliability_curve(
    y: np.ndarray, p: np.ndarray, n_bins: int = 10, level: float = 0.95
) -> pd.DataFrame:
    """Per equal-mass bin: mean forecast, observed up-rate with a Wilson interval, count."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    bins = equal_mass_bins(p, n_bins)
    rows = []
    for b in range(n_bins):
        mask = bins == b
        n = int(mask.sum())
        if not n:
            continue
        rate = wilson_interval(y[mask].sum(), n, level)
        rows.append((b, p[mask].mean(), rate.estimate, rate.low, rate.high, n))
    return pd.DataFrame(rows, columns=["bin", "mean_forecast", "observed", "low", "high", "count"])


def _outcomes(y: np.ndarray) -> np.ndarray:
    """``y`` as floats; ValueError unless every value is 0 or 1."""
    y = np.asarray(y, dtype=float)
    if not ((y == 0.0) | (y == 1.0)).all():
        raise ValueError("outcomes must be 0 or 1")
    return y


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of P(up) against the 0/1 outcome, as scikit-learn's
    ``brier_score_loss`` computes it without its input checks (bootstraps call this
    thousands of times); defined on a slice with one outcome only."""
    return float(np.mean((np.asarray(p, dtype=float) - _outcomes(y)) ** 2))


def logarithmic_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood, as scikit-learn's ``log_loss`` computes it without
    its input checks, probabilities clipped to [1e-6, 1 - 1e-6] first; defined on a slice
    with one outcome only."""
    y, p = _outcomes(y), clip_probability(p)
    return float(-np.mean(np.where(y == 1.0, np.log(p), np.log1p(-p))))


def calibration_metrics(
    y: np.ndarray,
    p: np.ndarray,
    dates: np.ndarray,
    *,
    block: int | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> dict[str, Interval | float]:
    """ECE, Brier and log-loss with intervals resampling whole dates (moving blocks of
    ``block`` dates when given), and the climatology baseline (always forecasting the
    evaluation set's own up-rate) for Brier and log-loss.
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    rate = np.full(len(y), y.mean())
    resample = {"groups": dates, "block": block, "n_boot": n_boot, "seed": seed}
    return {
        "ece": bootstrap_interval(expected_calibration_error, y, p, **resample),
        "brier": bootstrap_interval(brier, y, p, **resample),
        "log_loss": bootstrap_interval(logarithmic_loss, y, p, **resample),
        "brier_climatology": brier(y, rate),
        "log_loss_climatology": logarithmic_loss(y, rate),
    }


METHOD_COLUMNS = {
    "run's method": "p",
    "uncalibrated": "p_raw",
    "platt": "p_platt",
    "isotonic": "p_isotonic",
    "beta": "p_beta",
}


def compare_methods(
    predictions: pd.DataFrame, *, block: int | None = None, n_boot: int = N_BOOT
) -> pd.DataFrame:
    """ECE, Brier and log-loss (with intervals over blocks of ``block`` dates) of each
    calibration of the same out-of-sample scores, with the climatology baseline; one row
    per method present in ``predictions`` and a last row for climatology itself (no
    interval: it is the reference)."""
    y = predictions["label"].to_numpy(dtype=float)
    dates = predictions.index.get_level_values("date").to_numpy()
    rows = []
    for name, column in METHOD_COLUMNS.items():
        if column not in predictions:
            continue
        m = calibration_metrics(
            y, predictions[column].to_numpy(), dates, block=block, n_boot=n_boot
        )
        row = {"method": name}
        for key in ("ece", "brier", "log_loss"):
            row |= {key: m[key].estimate, f"{key}_low": m[key].low, f"{key}_high": m[key].high}
        row |= {
            "brier_climatology": m["brier_climatology"],
            "log_loss_climatology": m["log_loss_climatology"],
        }
        rows.append(row)
    # always forecasting the evaluation period's own rate: calibrated by construction
    rate = np.full(len(y), y.mean())
    rows.append(
        {
            "method": "climatology",
            "ece": expected_calibration_error(y, rate),
            "brier": brier(y, rate),
            "log_loss": logarithmic_loss(y, rate),
            "brier_climatology": brier(y, rate),
            "log_loss_climatology": logarithmic_loss(y, rate),
        }
    )
    return pd.DataFrame(rows)


def reliability_by_regime(
    predictions: pd.DataFrame, column: str = "p", min_rows: int = 200, n_bins: int = 10
) -> dict[int, pd.DataFrame]:
    """Regime id -> reliability curve of ``column`` on that regime's rows (regimes with at
    least ``min_rows`` rows; fewer bins when a regime is small)."""
    curves = {}
    for regime, rows in predictions.groupby("regime_id"):
        if len(rows) >= min_rows:
            bins = max(3, min(n_bins, len(rows) // 100))
            curves[int(regime)] = reliability_curve(
                rows["label"].to_numpy(), rows[column].to_numpy(), bins
            )
    return curves
