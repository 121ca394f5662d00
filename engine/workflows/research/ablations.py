"""The ablation study through the store: data, the study, trials, saved results."""

from __future__ import annotations

import dataclasses
from contextlib import closing

import pandas as pd

from engine.features.panel import to_wide
from engine.modeling.evaluation import make_dataset
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.membership import members_in, membership_records
from engine.studies.ablation import AblationConfig, AblationResult, run_ablation
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.trials import record_trial
from store.ablations import AblationRepository
from store.db import open_db


def run_ablation_study(
    db_path: DbPath,
    tickers: list[str],
    config: AblationConfig | None = None,
    *,
    start: pd.Timestamp | None = None,
    membership: pd.DataFrame | None = None,
    progress=None,
) -> tuple[int, AblationResult]:
    """Run the study on stored data, count every variant as a trial, save the tables.

    With ``membership`` (``load_membership``) the study loads the tickers that were members
    on some date from ``start`` on; a ticker's rows count on its member dates only and each
    date's labels rank that date's members (None: every ticker on every date).
    The "+ position sizing" variant sizes with a neutral win/loss ratio of 1: measuring
    the ratio on the same rows would let test outcomes into the sizing.
    """
    config = config or AblationConfig()
    tickers = members_in(membership, tickers, start)
    snapshot = build_snapshot(db_path, tickers)
    features, prices = snapshot.features, snapshot.prices
    if start is not None:
        features = features[features.index.get_level_values("date") >= start]
        prices = prices[prices["date"] >= start]
    regimes = snapshot.regimes["regime_id"]
    labels = compute_labels(prices, LabelParams(), regimes, membership=membership)
    data = make_dataset(features, labels)
    result = run_ablation(data, to_wide(prices), config, progress=progress)
    for name, returns in result.returns.items():
        record_trial(db_path, "ablation", name, returns.to_numpy())
    with closing(open_db(db_path)) as db:
        settings = {k: v for k, v in dataclasses.asdict(config).items() if k != "scheduler_address"}
        settings |= {"tickers": list(tickers), "start": start}
        if membership is not None:
            settings["membership"] = [list(r) for r in membership_records(membership)]
        study_id = AblationRepository(db).save(settings, result.table, result.steps)
    return study_id, result


def load_ablation_studies(db_path: DbPath) -> pd.DataFrame:
    with closing(open_db(db_path)) as db:
        return AblationRepository(db).list()


def load_ablation_study(db_path: DbPath, study_id: int) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    with closing(open_db(db_path)) as db:
        return AblationRepository(db).load(study_id)
