"""Signal study benchmark: one study (condition, events, forward excess returns at every
horizon with intervals, the average path) on a synthetic panel whose features are computed
before the clock starts, as the Signals page holds them cached."""

from __future__ import annotations

import statistics
import time

from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.studies.signals import compute_signal_study

# a dense condition (half the rows: the most events to resample) and a sparse, nested one
DENSE = "smi > 50"
SPARSE = "ifi_score > 70 and (rsi_14 < 40 or engulfing == 1)"


def _median_seconds(run, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run_signal_study_bench(n_tickers: int = 155, n_days: int = 1260, repeats: int = 3) -> dict:
    """Median seconds of a study from long prices (laid out wide inside the study, as a
    page passes them), for a dense and a sparse condition."""
    prices = make_panel(n_tickers, n_days, seed=3).prices
    started = time.perf_counter()
    features = compute_features(prices)
    features_s = time.perf_counter() - started
    dense = compute_signal_study(features, prices, DENSE)
    sparse = compute_signal_study(features, prices, SPARSE)
    return {
        "tickers": n_tickers,
        "days": n_days,
        "rows": len(features),
        "study_s": round(
            _median_seconds(lambda: compute_signal_study(features, prices, DENSE), repeats), 4
        ),
        "sparse_study_s": round(
            _median_seconds(lambda: compute_signal_study(features, prices, SPARSE), repeats), 4
        ),
        "events": dense.horizons[0].n_events,
        "sparse_events": sparse.horizons[0].n_events,
        "features_s": round(features_s, 2),
        "condition": DENSE,
        "sparse_condition": SPARSE,
    }
