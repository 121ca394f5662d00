"""Live recalibration: a run's probabilities remapped from its live record's known
outcomes, refitted every ``refit_after`` new outcomes, each map kept as a version.

The rules (the map, its shrinkage toward the identity, the prequential judgement) are
``engine.modeling.live_calibration``; the versions are ``store.live_calibration``
(append-only). A version fitted at t uses outcomes dated on or before t only and is in
force from t until the next.
"""

from __future__ import annotations

from contextlib import closing

import pandas as pd

from engine.metrics import ic_block
from engine.modeling.live_calibration import (
    DEFAULT_CONFIG,
    SCORED,
    LiveCalibrationConfig,
    LiveCalibrationJudgement,
    LiveCalibrationMap,
    fit_live_calibration,
    judge_live_calibration,
    new_outcomes,
)
from engine.workflows.data.prices import DbPath
from engine.workflows.modeling.runs import active_run, load_run, run_horizon, run_kind
from store.db import StoreError, open_db, write_transaction
from store.live import LiveRecordRepository
from store.live_calibration import LiveCalibrationRecord, LiveCalibrationRepository


def update_live_calibration(
    db_path: DbPath,
    as_of: pd.Timestamp,
    run_id: str | None = None,
    *,
    config: LiveCalibrationConfig = DEFAULT_CONFIG,
) -> int | None:
    """Fit a new version of the run's live map at ``as_of`` when it is due.

    Parameters
    ----------
    db_path : path of the store.
    as_of : Timestamp
        Only outcomes dated on or before it are read.
    run_id : str, optional
        The run (default: the active one).
    config : LiveCalibrationConfig

    Returns
    -------
    int or None
        The new version's number; None when none is due: no active run, a market-timing
        run (its P(up) is not a probability of beating the median), an ``as_of`` before
        the newest version's (versions are fitted in order), or fewer than
        ``config.refit_after`` outcomes dated after the newest version's ``as_of``. A
        rerun at the same ``as_of`` therefore adds nothing.
    """
    record = load_run(db_path, run_id) if run_id else active_run(db_path)
    if record is None or run_kind(record) == "market_timing":
        return None
    as_of = pd.Timestamp(as_of)
    with closing(open_db(db_path)) as db, write_transaction(db):
        versions = LiveCalibrationRepository(db)
        newest = versions.in_force(record.run_id)
        since = None if newest is None else newest.fitted_as_of
        if since is not None and as_of < since:
            return None
        scored = LiveRecordRepository(db).scored(record.run_id)[SCORED]
        if new_outcomes(scored, since, as_of) < config.refit_after:
            return None
        block = run_horizon(record)
        fit = fit_live_calibration(scored, as_of, block=block, config=config)
        return versions.append(
            record.run_id,
            as_of,
            outcomes=fit.outcomes,
            outcome_dates=(fit.first_outcome, fit.last_outcome),
            params=fit.params(config, block),
            shrinkage=fit.weight,
        )


def live_calibration_as_of(
    db_path: DbPath, run_id: str, as_of: pd.Timestamp
) -> LiveCalibrationRecord | None:
    """The version of the run's live map in force at ``as_of``: the newest fitted on or
    before it (None when none was)."""
    with closing(open_db(db_path)) as db:
        return LiveCalibrationRepository(db).in_force(run_id, pd.Timestamp(as_of))


def recalibrated(db_path: DbPath, forecasts: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """``forecasts`` with ``p_live`` and ``live_calibration_version`` added.

    Parameters
    ----------
    db_path : path of the store.
    forecasts : DataFrame
        What ``forecast`` returns: ``p_up`` and ``run_id`` per row.
    as_of : Timestamp
        Each run's version in force at this date maps ``p_up``.

    Returns
    -------
    DataFrame
        A copy with ``p_live`` (``p_up`` itself where the run has no version in force or
        is a market-timing run) and ``live_calibration_version`` (nullable integer, <NA>
        where no version applies).
    """
    out = forecasts.assign(
        p_live=forecasts["p_up"].astype(float),
        live_calibration_version=pd.array([pd.NA] * len(forecasts), dtype="Int64"),
    )
    for run_id in forecasts["run_id"].unique():
        if run_kind(load_run(db_path, str(run_id))) == "market_timing":
            continue
        version = live_calibration_as_of(db_path, str(run_id), as_of)
        if version is None:
            continue
        rows = (forecasts["run_id"] == run_id).to_numpy()
        mapping = LiveCalibrationMap.from_params(version.params)
        out.loc[rows, "p_live"] = mapping.apply(forecasts.loc[rows, "p_up"].to_numpy())
        out.loc[rows, "live_calibration_version"] = version.version
    return out


def live_calibration_report(
    db_path: DbPath, run_id: str | None = None, as_of: pd.Timestamp | None = None
) -> LiveCalibrationJudgement:
    """The run's (default: the active one's) versions fitted by ``as_of`` (None: all),
    each judged on the outcomes known by then of the forecasts made while it was in force
    (see ``judge_live_calibration``)."""
    record = load_run(db_path, run_id) if run_id else active_run(db_path)
    if record is None:
        raise StoreError("no active model: train one or make one active")
    with closing(open_db(db_path)) as db:
        scored = LiveRecordRepository(db).scored(record.run_id)[SCORED]
        versions = LiveCalibrationRepository(db).versions(record.run_id, as_of)
    bound = pd.Timestamp.max if as_of is None else pd.Timestamp(as_of)
    maps = pd.DataFrame(list(versions["params"]), columns=["intercept", "slope"], dtype=float)
    table = versions.drop(columns="params").assign(
        intercept=maps["intercept"].to_numpy(), slope=maps["slope"].to_numpy()
    )
    return judge_live_calibration(table, scored, bound, block=ic_block(run_horizon(record)))
