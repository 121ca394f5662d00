"""Feature benchmark: every family on a synthetic panel against ``ta.add_all_ta_features``.

Values are counted the same way on both sides: rows x feature columns produced (warm-up
NaNs included), so the ratio compares like with like. Our availability flags are not
counted. ``ta`` is a dev tool (requirements-dev.txt), imported only here.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from engine.data.schema import FetchResult
from engine.data.synthetic import make_panel
from engine.features import FAMILY_NAMES, build_context, compute_features, feature_columns
from engine.workflows import build_features, ingest, load_cached_features


def _peer(prices: pd.DataFrame) -> tuple[float, int]:
    """Seconds and feature values for ``ta.add_all_ta_features`` over every ticker."""
    import ta  # noqa: PLC0415 - a dev-only peer, not a runtime dependency

    values = 0
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ta divides by zero on flat windows
        for _, rows in prices.groupby("ticker", sort=False):
            frame = rows.reset_index(drop=True)
            inputs = frame.shape[1]  # ta adds its columns to ``frame`` in place
            out = ta.add_all_ta_features(
                frame, open="open", high="high", low="low", close="close", volume="volume"
            )
            values += len(out) * (out.shape[1] - inputs)
    return time.perf_counter() - started, values


def _cache_figures(prices: pd.DataFrame, repeats: int = 20) -> dict:
    """Build the feature cache of a fresh store, then read one ticker and all of them."""
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "bench.db"
        ingest(db_path, FetchResult("synthetic", prices, True))
        started = time.perf_counter()
        build_features(db_path)
        build_s = time.perf_counter() - started
        tickers = sorted(prices["ticker"].unique())
        one = []
        for i in range(repeats):
            started = time.perf_counter()
            load_cached_features(db_path, [tickers[i % len(tickers)]])
            one.append(time.perf_counter() - started)
        started = time.perf_counter()
        everything = load_cached_features(db_path)
        all_s = time.perf_counter() - started
    return {
        "cache_build_s": round(build_s, 4),
        "cache_load_one_ms": round(1000 * statistics.median(one), 2),
        "cache_load_all_s": round(all_s, 4),
        "cache_tickers": everything.index.get_level_values("ticker").nunique(),
    }


def run_features_bench(n_tickers: int = 155, n_days: int = 1260, *, repeats: int = 3) -> dict:
    """Best-of-``repeats`` time for all families (context included) and the peer's time;
    ``features_cpu_s``, the best process CPU time, compares sizes on a busy machine."""
    prices = make_panel(n_tickers, n_days, seed=7).prices
    columns = feature_columns()
    timings, cpu_timings = [], []
    for _ in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        context = build_context(prices)
        features = compute_features(prices, context=context)
        timings.append(time.perf_counter() - started)
        cpu_timings.append(time.process_time() - cpu)
    features_s = min(timings)
    values = len(features) * len(columns)
    peer_s, peer_values = _peer(prices)
    values_per_s = values / features_s
    peer_values_per_s = peer_values / peer_s
    return {
        "tickers": n_tickers,
        "days": n_days,
        "rows": len(features),
        "feature_columns": len(columns),
        "families": list(FAMILY_NAMES),
        "features_s": round(features_s, 4),
        "features_cpu_s": round(min(cpu_timings), 4),
        "values": values,
        "values_per_s": round(values_per_s),
        "peer": "ta.add_all_ta_features, one call per ticker",
        "peer_s": round(peer_s, 4),
        "peer_values": peer_values,
        "peer_values_per_s": round(peer_values_per_s),
        "ratio": round(values_per_s / peer_values_per_s, 2),
        **_cache_figures(prices),
    }
