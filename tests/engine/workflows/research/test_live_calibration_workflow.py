"""Live recalibration through the store: versions fitted from the live record's known
outcomes only, every ``refit_after`` new outcomes, append-only, the version in force at a
date, and forecasts given ``p_live``."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.modeling.live_calibration import SCORED, LiveCalibrationMap, fit_live_calibration
from store.db import open_db
from store.live import LiveRecordRepository
from store.live_calibration import LiveCalibrationRepository
from store.models import ModelRunRepository

RUN = "run-live"
HORIZON = 5
NAMES = 10
SESSIONS = pd.bdate_range("2024-01-02", periods=40)  # no holiday among them matters here


def register(path: Path, run_id: str, kind: str) -> None:
    """A complete run of ``kind`` with a ``HORIZON``-session label, made active."""
    with closing(open_db(path)) as db:
        runs = ModelRunRepository(db)
        runs.start(run_id, {"learner": {"kind": kind}, "label": {"horizon": HORIZON}})
        blank = dict.fromkeys(("artifact_dir", "feature_version", "data_hash", "code_version"), "")
        runs.complete(run_id, metrics={}, files={}, trained_through=None, **blank)
        runs.activate(run_id)


def plant(path: Path, days: int, *, flip_after: pd.Timestamp | None = None) -> pd.DataFrame:
    """``NAMES`` forecasts a session for ``days`` sessions, recorded with their outcomes
    ``HORIZON`` sessions later; ``p`` too high by 1 in logit. Outcomes dated after
    ``flip_after`` are stored flipped (what the store holds later must not matter).
    Returns the true record (``SCORED``)."""
    rng = np.random.default_rng(7)
    truth = rng.uniform(0.25, 0.75, (days, NAMES))
    record = pd.DataFrame(
        {
            "as_of": np.repeat(SESSIONS[:days], NAMES),
            "ticker": np.tile([f"T{i}" for i in range(NAMES)], days),
            "p": (1 / (1 + np.exp(-(np.log(truth / (1 - truth)) + 1.0)))).ravel(),
            "beat": (rng.uniform(size=truth.shape) < truth).astype(float).ravel(),
            "outcome_date": np.repeat(SESSIONS[HORIZON : days + HORIZON], NAMES),
        }
    )
    stored = record.copy()
    if flip_after is not None:
        later = stored["outcome_date"] > flip_after
        stored.loc[later, "beat"] = 1.0 - stored.loc[later, "beat"]
    with closing(open_db(path)) as db:
        live = LiveRecordRepository(db)
        live.record_forecasts(
            record.assign(
                run_id=RUN, horizon=HORIZON, score=record["p"], rank=1, percentile=0.5
            ).assign(reasons_digest="-")
        )
        live.record_outcomes(stored.assign(run_id=RUN, excess=stored["beat"] - 0.5))
    return record[SCORED]


def test_versions_are_fitted_every_refit_after_outcomes_and_kept(db_path: Path) -> None:
    register(db_path, RUN, "classifier")
    plant(db_path, 30)
    update = workflows.update_live_calibration
    assert update(db_path, SESSIONS[HORIZON]) is None  # 10 outcomes known: not yet 25
    assert update(db_path, SESSIONS[HORIZON + 2]) == 1  # 30 known
    assert update(db_path, SESSIONS[HORIZON + 2]) is None  # a rerun adds none
    assert update(db_path, SESSIONS[HORIZON + 3]) is None  # 10 new
    assert update(db_path, SESSIONS[HORIZON + 5]) == 2  # 30 new
    assert update(db_path, SESSIONS[HORIZON + 4]) is None  # before the newest version
    with closing(open_db(db_path)) as db:
        versions = LiveCalibrationRepository(db).versions(RUN)
    assert versions["version"].tolist() == [1, 2]
    assert versions["fitted_as_of"].tolist() == [SESSIONS[HORIZON + 2], SESSIONS[HORIZON + 5]]
    assert versions["outcomes"].tolist() == [30, 60]
    assert versions["last_outcome_date"].tolist() == versions["fitted_as_of"].tolist()
    assert (versions["shrinkage"] <= versions["outcomes"] / (versions["outcomes"] + 250)).all()

    in_force = workflows.live_calibration_as_of
    assert in_force(db_path, RUN, SESSIONS[HORIZON + 1]) is None
    assert in_force(db_path, RUN, SESSIONS[HORIZON + 2]).version == 1  # fitted that day
    assert in_force(db_path, RUN, SESSIONS[HORIZON + 4]).version == 1
    assert in_force(db_path, RUN, SESSIONS[-1]).version == 2

    with closing(sqlite3.connect(db_path)) as conn:  # append-only
        for statement in (
            "UPDATE live_calibrations SET shrinkage = 0",
            "DELETE FROM live_calibrations",
        ):
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                conn.execute(statement)
        conn.execute(
            "INSERT OR REPLACE INTO live_calibrations SELECT run_id, version, fitted_as_of, "
            "0, NULL, NULL, '{}', 0, created_utc FROM live_calibrations"
        )
        conn.commit()
    with closing(open_db(db_path)) as db:
        pd.testing.assert_frame_equal(LiveCalibrationRepository(db).versions(RUN), versions)


def test_outcomes_dated_after_the_as_of_date_are_never_read(db_path: Path) -> None:
    register(db_path, RUN, "classifier")
    as_of = SESSIONS[30]
    record = plant(db_path, 35, flip_after=as_of)  # the store holds 50 flipped outcomes later
    assert workflows.update_live_calibration(db_path, as_of) == 1  # the active run
    expected = fit_live_calibration(record, as_of, block=HORIZON)
    version = workflows.live_calibration_as_of(db_path, RUN, as_of)
    assert version.outcomes == expected.outcomes == 260
    assert version.params["intercept"] == pytest.approx(expected.map.intercept, abs=1e-12)
    assert version.params["slope"] == pytest.approx(expected.map.slope, abs=1e-12)
    assert version.shrinkage == pytest.approx(expected.weight, abs=1e-12)
    assert version.params["intercept"] < -0.2  # p too high: the map lowers it

    forecasts = pd.DataFrame(
        {"p_up": [0.3, 0.5, 0.8], "run_id": RUN}, index=pd.Index(["A", "B", "C"], name="ticker")
    )
    live = workflows.recalibrated(db_path, forecasts, as_of)
    mapping = LiveCalibrationMap.from_params(version.params)
    np.testing.assert_allclose(live["p_live"], mapping.apply(forecasts["p_up"].to_numpy()))
    assert (live["p_live"] < forecasts["p_up"]).all()
    assert live["live_calibration_version"].tolist() == [1, 1, 1]
    before = workflows.recalibrated(db_path, forecasts, SESSIONS[29])
    pd.testing.assert_series_equal(before["p_live"], forecasts["p_up"], check_names=False)
    assert before["live_calibration_version"].isna().all()

    report = workflows.live_calibration_report(db_path, RUN, SESSIONS[-1])
    assert report.versions["version"].tolist() == [1]
    # judged only on forecasts made on or after as_of whose outcomes are known by then
    assert report.judged == 5 * NAMES and report.standing in ("helps", "unclear", "unjudged")


def test_a_market_timing_run_is_not_recalibrated(db_path: Path) -> None:
    register(db_path, RUN, "market_timing")
    plant(db_path, 30)
    assert workflows.update_live_calibration(db_path, SESSIONS[-1], RUN) is None
    forecasts = pd.DataFrame({"p_up": [0.6], "run_id": RUN}, index=pd.Index(["A"]))
    live = workflows.recalibrated(db_path, forecasts, SESSIONS[-1])
    assert live["p_live"].tolist() == [0.6] and live["live_calibration_version"].isna().all()
