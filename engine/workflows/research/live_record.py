"""The live record: forecasts stored as they were made, scored when their outcomes are
known, and judged against the backtest's interval.

The record is append-only (``store.live``): a forecast recorded again, or an outcome
scored again, is left as it was.
"""

from __future__ import annotations

import hashlib
from contextlib import closing

import pandas as pd

from engine.modeling.evaluation import RunScores
from engine.studies.live import LiveReport, compute_live_outcomes, compute_live_report
from engine.workflows.data.prices import DbPath
from engine.workflows.modeling.runs import active_run, load_run, run_horizon, run_kind
from store.db import StoreError, open_db
from store.live import LiveRecordRepository
from store.prices import PriceRepository


def reasons_digest(reasons: str) -> str:
    """SHA-256 (hex) of a forecast's reasons as shown (UTF-8)."""
    return hashlib.sha256(reasons.encode("utf-8")).hexdigest()


def record_live_forecasts(db_path: DbPath, forecasts: pd.DataFrame) -> int:
    """Store forecasts as they were made.

    Parameters
    ----------
    db_path : path of the store.
    forecasts : DataFrame
        What ``forecast`` returns: indexed by ticker, with ``date`` (the session forecast
        from: the record's ``as_of``), ``score``, ``rank``, ``percentile``, ``p_up``,
        ``reasons`` and ``run_id``. Each run's label horizon is recorded with its rows,
        and the reasons as a SHA-256 digest.

    Returns
    -------
    int
        Forecasts newly recorded: one already recorded for the same run, date and ticker
        is left as it was (a rerun records nothing twice).
    """
    if forecasts.empty:
        return 0
    rows = []
    for run_id, frame in forecasts.groupby("run_id", sort=True):
        rows.append(
            pd.DataFrame(
                {
                    "run_id": run_id,
                    "as_of": frame["date"].to_numpy(),
                    "ticker": frame.index.to_numpy(),
                    "horizon": run_horizon(load_run(db_path, str(run_id))),
                    "score": frame["score"].to_numpy(),
                    "p": frame["p_up"].to_numpy(),
                    "rank": frame["rank"].to_numpy(),
                    "percentile": frame["percentile"].to_numpy(),
                    "reasons_digest": [reasons_digest(str(text)) for text in frame["reasons"]],
                }
            )
        )
    with closing(open_db(db_path)) as db:
        return LiveRecordRepository(db).record_forecasts(pd.concat(rows, ignore_index=True))


def score_live_record(db_path: DbPath, as_of: pd.Timestamp | None = None) -> int:
    """Score every recorded forecast whose outcome is known by ``as_of``.

    A date's forecasts are scored once the session ``horizon`` sessions after it is
    stored and on or before ``as_of`` (see ``compute_live_outcomes``): the excess return
    over the equal-weight mean of the tickers the run forecast that day, and whether it
    beat their median, from stored closes dated <= ``as_of`` only (the bound is applied in
    SQL). ``as_of`` None: every stored close.

    Returns
    -------
    int
        Outcomes newly recorded (a rerun scores nothing twice).
    """
    with closing(open_db(db_path)) as db:
        live = LiveRecordRepository(db)
        pending = live.unscored()
        if as_of is not None:
            as_of = pd.Timestamp(as_of)
            pending = pending[pending["as_of"] < as_of]
        if pending.empty:
            return 0
        forecasts = live.forecasts()
        due = pending[["run_id", "as_of"]].drop_duplicates()
        universe = forecasts.merge(due, on=["run_id", "as_of"])  # every ticker of those days
        tickers = sorted(universe["ticker"].unique())
        prices = PriceRepository(db).load(tickers, start=pending["as_of"].min(), end=as_of)
        if prices.empty:
            return 0
        newest = prices["date"].max() if as_of is None else as_of
        return live.record_outcomes(compute_live_outcomes(universe, prices, newest))


def live_report(
    db_path: DbPath, run_id: str | None = None, as_of: pd.Timestamp | None = None
) -> LiveReport:
    """The live record of a run (the active one by default) beside its backtest: live rank
    IC, top-5 hit rate and ECE with intervals, the run's recorded walk-forward figures
    with theirs, and whether the live rank IC falls outside the backtest's interval (see
    ``compute_live_report``). Only forecasts made and outcomes known by ``as_of`` count
    (None: everything recorded)."""
    record = load_run(db_path, run_id) if run_id else active_run(db_path)
    if record is None:
        raise StoreError("no active model: train one or make one active")
    with closing(open_db(db_path)) as db:
        live = LiveRecordRepository(db)
        forecasts, outcomes = live.forecasts(record.run_id), live.outcomes(record.run_id)
    return compute_live_report(
        forecasts,
        outcomes,
        RunScores.from_metrics(record.metrics),
        run_id=record.run_id,
        horizon=run_horizon(record),
        as_of=None if as_of is None else pd.Timestamp(as_of),
        p_beats_median=run_kind(record) != "market_timing",
    )
