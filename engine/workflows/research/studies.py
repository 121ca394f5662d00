"""What every saved study shares through the store (the ablation, the model zoo): its rows,
the settings it records, its trials, and its tables saved and loaded by kind
(``store.studies.STUDY_TABLES``)."""

from __future__ import annotations

import dataclasses
from contextlib import closing

import pandas as pd

from engine.modeling.evaluation import make_dataset
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.membership import members_in, membership_records
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.trials import record_trial
from store.db import open_db
from store.studies import study_repository


def study_rows(
    db_path: DbPath,
    tickers: list[str],
    *,
    start: pd.Timestamp | None = None,
    membership: pd.DataFrame | None = None,
    label: LabelParams | None = None,
    as_of: pd.Timestamp | None = None,
    families: tuple[str, ...] = (),
) -> tuple[list[str], pd.DataFrame, pd.DataFrame]:
    """A study's tickers (the members from ``start`` on, with ``membership``), its
    labelled rows (``make_dataset``: ``label``, default relative 5-session labels ranking
    each date's members; the default families' features plus the optional ones among
    ``families``) and their prices, from the store as of ``as_of`` (None: all of it; rows
    whose outcome is not known by then have no label and are left out)."""
    tickers = members_in(membership, tickers, start)
    snapshot = build_snapshot(db_path, tickers, as_of)
    features, prices = snapshot.features_for(families), snapshot.prices
    if start is not None:
        features = features[features.index.get_level_values("date") >= start]
        prices = prices[prices["date"] >= start]
    regimes = snapshot.regimes["regime_id"]
    labels = compute_labels(prices, label or LabelParams(), regimes, membership=membership)
    return tickers, make_dataset(features, labels), prices


def study_settings(config: object, tickers: list[str], start, membership) -> dict:
    """What a saved study records of its run: the config (less a scheduler address),
    the tickers, the first date and the membership."""
    settings = {k: v for k, v in dataclasses.asdict(config).items() if k != "scheduler_address"}
    settings |= {"tickers": list(tickers), "start": start}
    if membership is not None:
        settings["membership"] = [list(r) for r in membership_records(membership)]
    return settings


def save_study(
    db_path: DbPath,
    kind: str,
    settings: dict,
    table: pd.DataFrame,
    second: pd.DataFrame,
    *,
    returns: dict[str, pd.Series],
) -> int:
    """Count each of ``returns`` (a variant's, a learner's daily net returns) as a trial of
    ``kind`` for the Deflated Sharpe, then save the study's tables; its id."""
    for name, daily in returns.items():
        record_trial(db_path, kind, name, daily.to_numpy())
    with closing(open_db(db_path)) as db:
        return study_repository(db, kind).save(settings, table, second)


def load_studies(db_path: DbPath, kind: str) -> pd.DataFrame:
    """Saved studies of ``kind`` ("ablation", "zoo"), newest first: id, created_utc,
    config (JSON text)."""
    with closing(open_db(db_path)) as db:
        return study_repository(db, kind).list()


def load_study(
    db_path: DbPath, kind: str, study_id: int
) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    """A saved study's settings, table and second table (ablation: its steps; zoo: the
    learners' diversity and the ensembles' gains)."""
    with closing(open_db(db_path)) as db:
        return study_repository(db, kind).load(study_id)
