"""Study benchmarks on a planted synthetic panel, each serially and on a local Dask cluster
with 2 workers (cluster start-up included: that is what a user waits for). ``ablation``:
the variant stack; ``zoo``: every learner of the zoo and its ensembles."""

from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd

from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.features.panel import WidePanel, to_wide
from engine.modeling.evaluation import make_dataset
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.learners import TABULAR_LEARNERS
from engine.modeling.selection import forget_rankings
from engine.studies.ablation import AblationConfig, run_ablation
from engine.studies.zoo import ZooConfig, run_zoo


def _planted(n_tickers: int, n_days: int) -> tuple[pd.DataFrame, WidePanel]:
    panel = make_panel(n_tickers, n_days, kind="planted", seed=7)
    data = make_dataset(compute_features(panel.prices), compute_labels(panel.prices, LabelParams()))
    return data, to_wide(panel.prices)


def _serial_and_dask(run: Callable[[bool], pd.DataFrame]) -> tuple[dict, pd.DataFrame]:
    """Seconds of ``run(use_dask)`` both ways, their ratio and the largest difference
    between the tables' numbers (timings left out); and the serial run's table."""
    timings, tables = {}, {}
    for mode, use_dask in (("serial", False), ("dask", True)):
        forget_rankings()  # the serial run ranks each fold's columns once, as Dask's first does
        started = time.perf_counter()
        tables[mode] = run(use_dask)
        timings[mode] = time.perf_counter() - started
    serial, dask = (
        tables[m].select_dtypes("number").drop(columns="seconds", errors="ignore")
        for m in ("serial", "dask")
    )
    return {
        "serial_s": round(timings["serial"], 2),
        "dask_s": round(timings["dask"], 2),
        "ratio": round(timings["dask"] / timings["serial"], 3),
        "max_table_diff": float((serial - dask).abs().max().max()),
    }, tables["serial"]


def run_ablation_bench(n_tickers: int = 155, n_days: int = 1260, workers: int = 2) -> dict:
    data, prices = _planted(n_tickers, n_days)
    found, table = _serial_and_dask(
        lambda use_dask: (
            run_ablation(
                data, prices, AblationConfig(use_dask=use_dask, workers=workers, n_boot=100)
            ).table
        )
    )
    research = table.set_index("variant")["auc"]
    return {
        "tickers": n_tickers,
        "days": n_days,
        "rows": len(data),
        "variants": len(table),
        "walk_forwards": 4,
        **found,
        "dask_workers": workers,
        "auc_patterns_only": round(float(research["patterns only"]), 4),
        "auc_with_research_families": round(float(research["+ research families"]), 4),
    }


def run_zoo_bench(n_tickers: int = 155, n_days: int = 1260, workers: int = 2) -> dict:
    """The zoo's tabular learners one after another, then as tasks on the cluster (each
    learner's walk-forward one task; the ensembles are built from their predictions
    afterwards). The sequence learners' times are the train benchmark's."""
    data, prices = _planted(n_tickers, n_days)
    found, table = _serial_and_dask(
        lambda use_dask: (
            run_zoo(
                data,
                prices,
                ZooConfig(TABULAR_LEARNERS, use_dask=use_dask, workers=workers, n_boot=100),
            ).table
        )
    )
    table = table.set_index("model")
    learners = table.index[table["seconds"] > 0]
    return {
        "tickers": n_tickers,
        "days": n_days,
        "rows": len(data),
        "learners": len(learners),
        **found,
        "dask_workers": workers,
        **{f"{name}_serial_s": round(float(table.at[name, "seconds"]), 2) for name in learners},
        "best_rank_ic": round(float(table["rank_ic"].max()), 4),
    }
