"""A run's factor report: its out-of-sample ranking judged as alphalens judges a factor,
and every feature's own rank IC on the same rows (the Factors page shows it)."""

from __future__ import annotations

import pandas as pd

from engine.features import feature_columns
from engine.metrics import N_BOOT, ic_block
from engine.modeling.analyses import FactorReport
from engine.modeling.artifacts import SIGNAL_RECORD
from engine.modeling.factors import compute_tear_sheet, excess_returns
from engine.modeling.feature_ic import feature_ic_table
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.runs import load_oos_predictions, run_analysis, run_horizon
from store.models import ModelRun


def factor_report(
    db_path: DbPath,
    run_id: str | None = None,
    *,
    quantiles: int = 5,
    top_k: int = 5,
    n_boot: int = N_BOOT,
    feature_boot: int = N_BOOT,
    seed: int = 0,
) -> FactorReport:
    """The report of a run (the active one by default).

    Parameters
    ----------
    db_path : path of the store.
    run_id : str, optional
    quantiles, top_k : int
        Bins per date and names in the hit rate (see ``compute_tear_sheet``).
    n_boot : int
        Replicates of the tear sheet's intervals.
    feature_boot : int
        Replicates of each feature's interval (one moving-block bootstrap per column).
    seed : int

    Returns
    -------
    FactorReport
        Only the run's walk-forward test rows are scored: each forecast was made by a
        model that never saw its row. The features are read from a snapshot as of the
        newest forecast date (rows <= that date). The report at the default options is
        computed once and kept with the run (``run_analysis``).
    """
    options = {"quantiles": quantiles, "top_k": top_k, "n_boot": n_boot}
    options |= {"feature_boot": feature_boot, "seed": seed}

    def compute(predictions: pd.DataFrame, record: ModelRun) -> FactorReport:
        return compute_factor_report(db_path, predictions, record, **options)

    if options == DEFAULT_OPTIONS:  # the report kept with the run
        return run_analysis(db_path, run_id, SIGNAL_RECORD, FactorReport, compute)
    return compute(*load_oos_predictions(db_path, run_id))


DEFAULT_OPTIONS = {"quantiles": 5, "top_k": 5, "n_boot": N_BOOT, "feature_boot": N_BOOT, "seed": 0}


def compute_factor_report(
    db_path: DbPath,
    predictions: pd.DataFrame,
    record: ModelRun,
    *,
    quantiles: int,
    top_k: int,
    n_boot: int,
    feature_boot: int,
    seed: int,
) -> FactorReport:
    """The factor report of ``record``'s out-of-sample ``predictions`` (see
    ``factor_report``)."""
    horizon = run_horizon(record)
    signal = "score" if "score" in predictions else "p"
    forward, target = excess_returns(predictions)
    sheet = compute_tear_sheet(
        predictions[signal].astype(float),
        forward,
        quantiles=quantiles,
        top_k=top_k,
        horizon=horizon,
        n_boot=n_boot,
        seed=seed,
    )
    dates = predictions.index.get_level_values("date")
    tickers = sorted(predictions.index.get_level_values("ticker").unique())
    snapshot = build_snapshot(db_path, tickers, dates.max())
    columns = [c for c in feature_columns() if c in snapshot.features.columns]
    features = snapshot.features[columns].reindex(predictions.index)
    table = feature_ic_table(
        features, forward, block=ic_block(horizon), n_boot=feature_boot, seed=seed
    )
    return FactorReport(
        run_id=record.run_id,
        signal=signal,
        target=target,
        horizon=horizon,
        sheet=sheet,
        features=table,
        forecasts=len(predictions),
        tickers=len(tickers),
        first=dates.min(),
        last=dates.max(),
    )
