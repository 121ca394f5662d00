"""The typed records of a run's analyses, computed once when it is trained and kept in its
folder as JSON (``engine.modeling.records``): what the Calibration and Factors pages show.
The workflows compute them (``engine.workflows.research``); a bundle's import checks them."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from engine.modeling.factors import FactorTearSheet


@dataclass(frozen=True)
class CalibrationReport:
    """ECE, Brier and log-loss of each calibration of the run's walk-forward predictions
    (with intervals and climatology), the reliability curve of each method present, and
    per-regime curves of the run's own method (regimes with at least 200 forecasts)."""

    run_id: str
    forecasts: int
    sessions: int
    first: pd.Timestamp
    last: pd.Timestamp
    folds: int
    methods: pd.DataFrame
    curves: dict[str, pd.DataFrame]
    by_regime: dict[int, pd.DataFrame]
    regimes_skipped: int


@dataclass(frozen=True)
class FactorReport:
    """The tear sheet of a run's out-of-sample forecasts and the per-feature IC table.

    Attributes
    ----------
    run_id : str
    signal : str
        The predictions' column ranked: ``score`` (the model's cross-sectional score) or,
        for runs that predate it, ``p`` (the calibrated probability).
    target : str
        ``excess`` (forward return minus the date's equal-weight universe mean) or, for
        older runs, ``ret demeaned per date`` (the same quantity computed here).
    horizon : int
        Label horizon in sessions (the intervals resample blocks of ``ic_block(horizon)``).
    sheet : FactorTearSheet
    features : DataFrame of shape (K, 9)
        ``feature_ic_table`` of every feature column at the out-of-sample rows.
    forecasts, tickers : int
    first, last : Timestamp
    """

    run_id: str
    signal: str
    target: str
    horizon: int
    sheet: FactorTearSheet
    features: pd.DataFrame
    forecasts: int
    tickers: int
    first: pd.Timestamp
    last: pd.Timestamp
