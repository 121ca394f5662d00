"""Ablation benchmark: the full variant stack on a synthetic panel, serially and on a local
Dask cluster with 2 workers (cluster start-up included: that is what a user waits for)."""

from __future__ import annotations

import time

from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.features.panel import to_wide
from engine.modeling.evaluation import make_dataset
from engine.modeling.labels import LabelParams, compute_labels
from engine.studies.ablation import AblationConfig, run_ablation


def run_ablation_bench(n_tickers: int = 155, n_days: int = 1260, workers: int = 2) -> dict:
    panel = make_panel(n_tickers, n_days, kind="planted", seed=7)
    data = make_dataset(compute_features(panel.prices), compute_labels(panel.prices, LabelParams()))
    prices = to_wide(panel.prices)
    timings, tables = {}, {}
    for mode, use_dask in (("serial", False), ("dask", True)):
        config = AblationConfig(use_dask=use_dask, workers=workers, n_boot=100)
        started = time.perf_counter()
        tables[mode] = run_ablation(data, prices, config).table
        timings[mode] = time.perf_counter() - started
    research = tables["serial"].set_index("variant")["auc"]
    return {
        "tickers": n_tickers,
        "days": n_days,
        "rows": len(data),
        "variants": len(tables["serial"]),
        "walk_forwards": 4,
        "serial_s": round(timings["serial"], 2),
        "dask_s": round(timings["dask"], 2),
        "dask_workers": workers,
        "ratio": round(timings["dask"] / timings["serial"], 3),
        "max_table_diff": float(
            (tables["serial"].select_dtypes("number") - tables["dask"].select_dtypes("number"))
            .abs()
            .max()
            .max()
        ),
        "auc_patterns_only": round(float(research["patterns only"]), 4),
        "auc_with_research_families": round(float(research["+ research families"]), 4),
    }
