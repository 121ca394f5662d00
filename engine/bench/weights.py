"""Sample-weight benchmark: average uniqueness and time decay of a panel's labels, against
the pandas snippets of Advances in Financial Machine Learning in the same run.

Ours: ``sample_weights`` (concurrency, average uniqueness, time decay with ``c = 0.5``) of
the triple-barrier labels of a synthetic panel (155 x 1,260 by default), median of
``repeats``. The peer: López de Prado's snippets 4.1 (``mpNumCoEvents``: concurrency by
adding 1 over each label's slice of a Series) and 4.2 (``mpSampleTW``: the mean of
1 / concurrency over each label's slice), one label at a time as the book writes them, on
the first ``peer_labels`` labels, timed and scaled to every label. Both compute the same
uniqueness on that subset (``max_abs_diff``).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from engine.data.synthetic import make_panel
from engine.modeling.labels import LabelParams, triple_barrier
from engine.modeling.sample_weights import SampleWeightParams, average_uniqueness, sample_weights


def _snippet_uniqueness(dates: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, float]:
    """Uniqueness by AFML snippets 4.1 and 4.2 (label by label), and the seconds taken."""
    started = time.perf_counter()
    t1 = pd.Series(ends, index=dates)
    sessions = pd.DatetimeIndex(np.unique(np.concatenate([dates, ends])))
    count = pd.Series(0, index=sessions)
    for t_in, t_out in t1.items():
        count.loc[t_in:t_out] += 1
    weight = [(1.0 / count.loc[t_in:t_out]).mean() for t_in, t_out in t1.items()]
    return np.asarray(weight), time.perf_counter() - started


def run_weights_bench(
    n_tickers: int = 155, n_days: int = 1260, *, peer_labels: int = 2000, repeats: int = 5
) -> dict:
    """Seconds for the fit weights of every label of an ``n_tickers x n_days`` panel."""
    prices = make_panel(n_tickers, n_days, seed=0).prices
    labels = triple_barrier(prices, LabelParams(kind="triple_barrier", horizon=10))
    labels = labels[labels["label"].notna()].sort_index(level=["date", "ticker"])
    dates = labels.index.get_level_values("date").to_numpy(dtype="datetime64[ns]")
    ends = labels["end_date"].to_numpy(dtype="datetime64[ns]")
    params = SampleWeightParams(decay=0.5)
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        sample_weights(dates, ends, params)
        seconds.append(time.perf_counter() - started)
    ours = float(np.median(seconds))
    subset = slice(0, min(peer_labels, len(dates)))
    peer, peer_s = _snippet_uniqueness(dates[subset], ends[subset])
    scaled_peer_s = peer_s * len(dates) / len(peer)
    return {
        "benchmark": "weights",
        "labels": len(dates),
        "sample_weights_s": round(ours, 4),
        "peer_labels": len(peer),
        "peer_s": round(scaled_peer_s, 2),
        "ratio": round(scaled_peer_s / ours, 1),
        "max_abs_diff": float(
            np.max(np.abs(peer - average_uniqueness(dates[subset], ends[subset])))
        ),
    }
