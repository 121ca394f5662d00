"""Training and forecasting benchmarks on the synthetic 155 x 1,260 panel.

``train``: the default purged walk-forward (18 months train, 3 months test) of the
cross-sectional classifier and of the ranker, each against its peer in the same process,
one plain XGBoost fit of the same objective and booster settings on all rows and all
feature columns; and the classifier's walk-forward by every other learner of the zoo that
this install can train, as a ratio to XGBoost's in the same run (GRU and Transformer with
torch, ``make deep``: their seconds per fold and device too). Each walk-forward starts with
no fold's feature ranking kept (the zoo shares them between learners; a benchmark of one
learner must not).

``forecast``: calibrated forecasts with reasons for every ticker from a warm store
(feature cache built, model registered), given the as-of snapshot; the snapshot's build
time is reported beside it. Warm: the snapshot memoized by the store's stamp
(``build_snapshot``) and the verified model by its files' stamps (``load_model_as_of``,
the look-ahead guard still checked on each call); cold: the first forecast (the snapshot
read after ``forget_snapshots``, the bundle read and checked), reported apart.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from engine.data.schema import FetchResult
from engine.data.synthetic import make_panel
from engine.features import (
    DEFAULT_FAMILIES,
    FAMILY_NAMES,
    build_context,
    compute_features,
    feature_columns,
)
from engine.modeling.evaluation import make_dataset, walk_forward
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.learners import (
    SEQUENCE_LEARNERS,
    TABULAR_LEARNERS,
    LearnerParams,
    learner_families,
    relevance,
    trainable_learners,
)
from engine.modeling.learners.xgboost_learner import booster_params
from engine.modeling.model_selection import PurgedWalkForward
from engine.modeling.selection import forget_rankings
from engine.modeling.training import TrainConfig
from engine.workflows import (
    ARTIFACTS_ENV_VAR,
    activate_run,
    build_features,
    build_snapshot,
    forecast,
    forget_snapshots,
    ingest,
    train_model,
)


def _plain_fit_s(data: pd.DataFrame, params: LearnerParams) -> float:
    """Seconds of one xgboost.train of the same objective on all rows and feature columns
    (the ranker's rows grouped by date, its target graded as the learner grades it)."""
    columns = feature_columns(params.families)
    if params.kind == "ranker":
        codes = pd.factorize(data.index.get_level_values("date"), sort=True)[0]
        matrix = xgb.DMatrix(data[columns], label=relevance(data["target"]), qid=codes)
    else:
        matrix = xgb.DMatrix(data[columns], label=data["label"])
    started = time.perf_counter()
    xgb.train(booster_params(params), matrix, num_boost_round=params.n_estimators)
    return time.perf_counter() - started


def run_train_bench(n_tickers: int = 155, n_days: int = 1260) -> dict:
    """The default walk-forward of the cross-sectional classifier and of the ranker, each
    against one plain fit of its own objective."""
    prices = make_panel(n_tickers, n_days, seed=7).prices
    started = time.perf_counter()
    # the price path too when a sequence learner can be trained here (make deep)
    families = FAMILY_NAMES if len(trainable_learners()) > len(TABULAR_LEARNERS) else None
    features = compute_features(prices, context=build_context(prices), families=families)
    data = make_dataset(features, compute_labels(prices, LabelParams()))
    prepare_s = time.perf_counter() - started
    out = {"tickers": n_tickers, "days": n_days, "rows": len(data)}
    out["prepare_s"] = round(prepare_s, 3)
    for kind in ("classifier", "ranker"):
        params = LearnerParams(kind=kind)
        forget_rankings()  # every walk-forward timed from the same state: no fold's ranking kept
        started = time.perf_counter()
        result = walk_forward(data, PurgedWalkForward(), params)
        walk_forward_s = time.perf_counter() - started
        single_fit_s = _plain_fit_s(data, params)
        prefix = "" if kind == "classifier" else "ranker_"
        out |= {
            f"{prefix}folds": len(result.folds),
            f"{prefix}walk_forward_s": round(walk_forward_s, 3),
            f"{prefix}single_fit_s": round(single_fit_s, 3),
            f"{prefix}ratio": round(walk_forward_s / single_fit_s, 2),
        }
    for learner in trainable_learners():
        if learner == "xgboost":
            continue
        forget_rankings()
        started = time.perf_counter()
        params = LearnerParams(
            learner=learner, families=learner_families(learner, DEFAULT_FAMILIES)
        )
        folds = len(walk_forward(data, PurgedWalkForward(), params).folds)
        seconds = time.perf_counter() - started
        out[f"{learner}_walk_forward_s"] = round(seconds, 3)
        out[f"{learner}_ratio_vs_xgboost"] = round(seconds / out["walk_forward_s"], 3)
        if learner in SEQUENCE_LEARNERS:  # torch's training, on this machine's CPU
            out[f"{learner}_s_per_fold"] = round(seconds / folds, 2)
            out[f"{learner}_device"] = f"{params.device} ({os.cpu_count()} cores, 1 thread)"
    out["peer"] = (
        f"one xgboost.train of the same objective on all rows, {LearnerParams().n_estimators} "
        "rounds, same settings"
    )
    return out


def run_forecast_bench(n_tickers: int = 155, n_days: int = 1260, repeats: int = 5) -> dict:
    prices = make_panel(n_tickers, n_days, seed=7).prices
    tickers = tuple(sorted(prices["ticker"].unique()))
    as_of = prices["date"].max()
    previous = os.environ.get(ARTIFACTS_ENV_VAR)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        os.environ[ARTIFACTS_ENV_VAR] = str(Path(tmp) / "artifacts")
        try:
            return _time_forecasts(db, prices, tickers, as_of, repeats)
        finally:
            if previous is None:
                os.environ.pop(ARTIFACTS_ENV_VAR, None)
            else:
                os.environ[ARTIFACTS_ENV_VAR] = previous


def _time_forecasts(db: Path, prices, tickers: tuple[str, ...], as_of, repeats: int) -> dict:
    """Warm the store (cache, registered active model), then time ``forecast``."""
    ingest(db, FetchResult("synthetic", prices, True))
    build_features(db)
    config = TrainConfig(
        tickers=tickers,
        start=as_of - pd.DateOffset(months=30),
        as_of=as_of,
        train_months=12,
        test_months=6,
        n_boot=50,
    )
    activate_run(db, train_model(db, config).run_id)
    forget_snapshots()
    started = time.perf_counter()
    cold = forecast(db, build_snapshot(db, tickers, as_of))
    cold_s = time.perf_counter() - started
    snapshot_timings, forecast_timings = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        snapshot = build_snapshot(db, tickers, as_of)
        built = time.perf_counter()
        frame = forecast(db, snapshot)
        snapshot_timings.append(built - started)
        forecast_timings.append(time.perf_counter() - built)
    return {
        "tickers": len(frame),
        "repeats": repeats,
        "forecast_s": round(statistics.median(forecast_timings), 3),
        "forecast_runs_s": [round(t, 3) for t in forecast_timings],
        "snapshot_s": round(statistics.median(snapshot_timings), 3),
        "snapshot_runs_s": [round(t, 3) for t in snapshot_timings],
        "end_to_end_s": round(
            statistics.median(np.add(snapshot_timings, forecast_timings).tolist()), 3
        ),
        "cold_end_to_end_s": round(cold_s, 3),
        "cold_equals_warm": bool(cold.equals(frame)),
        "with_reasons": bool(frame["reasons"].str.len().gt(0).all()),
    }
