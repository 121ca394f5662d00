"""Factor-analysis benchmark: the per-feature rank-IC table and one tear sheet on the
synthetic 155 x 1,260 panel, against alphalens computing the same figures in the same run.

Ours: ``feature_ic_table`` for every feature column (timed without intervals, then the
intervals on their own: one moving-block bootstrap of ``n_boot`` replicates per column),
and ``compute_tear_sheet`` of one factor. The peer, alphalens-reloaded (a dev tool,
requirements-dev.txt, imported only here): per column ``factor_information_coefficient``
+ ``mean_return_by_quantile(demeaned=False)`` + ``quantile_turnover`` of the top
quantile, on a factor_data frame built directly (``quantize_factor`` for the quantiles;
``get_clean_factor_and_forward_returns`` wants prices, not labels), on ``peer_columns``
columns, its time scaled to every column. The ratio is alphalens' scaled seconds over our
seconds for the same figures (IC table without intervals + one tear sheet's quantile
returns and turnover per column are what alphalens computes; our figure is the IC table
plus one full tear sheet, so the ratio understates us).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from engine.data.synthetic import make_panel
from engine.features import build_context, compute_features, feature_columns
from engine.metrics import N_BOOT
from engine.modeling.factors import compute_tear_sheet
from engine.modeling.feature_ic import feature_ic_table
from engine.modeling.labels import LabelParams, compute_labels


def _alphalens_seconds(features: pd.DataFrame, returns: pd.Series, columns: list[str]) -> float:
    """Seconds alphalens takes for IC, quantile mean returns and top turnover of each
    column (factor_data built per column, as its tear sheets need)."""
    import alphalens.performance as perf  # noqa: PLC0415 - a dev-only peer
    from alphalens.utils import quantize_factor  # noqa: PLC0415

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for column in columns:
            data = pd.DataFrame({"5D": returns, "factor": features[column]}).dropna()
            data = data.swaplevel().sort_index()
            data.index = data.index.set_names(["date", "asset"])
            data["factor_quantile"] = quantize_factor(data, quantiles=5, no_raise=True)
            data = data.dropna()
            perf.factor_information_coefficient(data)
            perf.mean_return_by_quantile(data, demeaned=False)
            perf.quantile_turnover(data["factor_quantile"], 5)
    return time.perf_counter() - started


def run_factors_bench(
    n_tickers: int = 155,
    n_days: int = 1260,
    *,
    n_boot: int = N_BOOT,
    peer_columns: int = 4,
    repeats: int = 3,
) -> dict:
    """Seconds for the feature IC table (best of ``repeats`` without intervals, once with
    them), one tear sheet, and alphalens on ``peer_columns`` columns scaled to all."""
    prices = make_panel(n_tickers, n_days, seed=7).prices
    features = compute_features(prices, context=build_context(prices))
    columns = feature_columns()
    features = features[columns]
    returns = compute_labels(prices, LabelParams())["ret"].reindex(features.index)

    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        table = feature_ic_table(features, returns, n_boot=0)
        timings.append(time.perf_counter() - started)
    table_s = min(timings)
    started = time.perf_counter()
    feature_ic_table(features, returns, n_boot=n_boot)
    table_with_intervals_s = time.perf_counter() - started
    factor = str(table["feature"].iloc[0])
    started = time.perf_counter()
    sheet = compute_tear_sheet(features[factor], returns, n_boot=300)
    tear_sheet_s = time.perf_counter() - started

    varying = [c for c in table.loc[table["note"] == "", "feature"]]
    sample = varying[:: max(1, len(varying) // peer_columns)][:peer_columns]
    peer_sample_s = _alphalens_seconds(features, returns, sample)
    peer_s = peer_sample_s / len(sample) * len(columns)
    ours_s = table_s + tear_sheet_s
    return {
        "tickers": n_tickers,
        "days": n_days,
        "feature_columns": len(columns),
        "market_wide_columns": int((table["note"] != "").sum()),
        "feature_ic_table_s": round(table_s, 4),
        "feature_ic_table_with_intervals_s": round(table_with_intervals_s, 4),
        "n_boot": n_boot,
        "tear_sheet_s": round(tear_sheet_s, 4),
        "tear_sheet_factor": factor,
        "tear_sheet_rank_ic": round(float(sheet.rank_ic.estimate), 5),
        "ours_s": round(ours_s, 4),
        "peer": "alphalens-reloaded: factor_information_coefficient + "
        "mean_return_by_quantile + quantile_turnover per column",
        "peer_columns_timed": sample,
        "peer_sample_s": round(peer_sample_s, 4),
        "peer_s": round(peer_s, 4),
        "peer_scaled_to_columns": len(columns),
        "ratio": round(peer_s / ours_s, 2) if ours_s > 0 else np.nan,
    }
