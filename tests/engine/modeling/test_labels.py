"""Labels look only forward, record when they became known, and are NaN until then."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.features.panel import to_wide
from engine.modeling.labels import (
    LabelParams,
    barrier_multiples,
    compute_labels,
    forward_direction,
    triple_barrier,
)
from tests.builders import bars


def closes(values: list[float]) -> pd.DataFrame:
    return bars([(v, v, v, v, 1000.0) for v in values]).assign(open=np.nan, high=np.nan, low=np.nan)


def test_forward_direction_by_hand() -> None:
    prices = closes([10, 11, 9, 12, 12, 8])
    labels = forward_direction(prices, horizon=2).loc["T"]
    assert labels["label"].tolist()[:4] == [0.0, 1.0, 1.0, 0.0]
    assert labels["ret"].iloc[0] == pytest.approx(9 / 10 - 1)
    assert labels["label"].iloc[4:].isna().all()
    dates = labels.index
    assert list(labels["end_date"].iloc[:4]) == list(dates[2:6])
    assert labels["end_date"].iloc[4:].isna().all()


@pytest.mark.parametrize("kind", ["direction", "triple_barrier"])
def test_labels_end_after_their_date_and_are_unknown_until_then(market_panel, kind) -> None:
    params = LabelParams(kind=kind, horizon=7)
    full = compute_labels(market_panel, params)
    known = full["label"].notna()
    assert known.mean() > 0.9
    dates = full.index.get_level_values("date")
    assert (full.loc[known, "end_date"] > dates[known]).all()
    for cut in np.sort(market_panel["date"].unique())[[100, 350, 600]]:
        part = compute_labels(market_panel[market_panel["date"] <= cut], params)
        part_dates = part.index.get_level_values("date")
        settled = full.loc[part.index, "end_date"] <= cut
        # Settled by the cut: same label from the shorter data; not settled: not known.
        pd.testing.assert_series_equal(
            part.loc[settled.to_numpy(), "label"], full.loc[part.index][settled]["label"]
        )
        assert part.loc[~settled.to_numpy(), "label"].isna().all()
        assert (part_dates <= cut).all()


def test_direction_label_ignores_everything_before_its_date() -> None:
    base = [10, 11, 9, 12, 12, 8, 9, 10]
    changed = [50, 1, 9, 12, 12, 8, 9, 10]  # only the first two closes differ
    a = forward_direction(closes(base), 2).loc["T"]
    b = forward_direction(closes(changed), 2).loc["T"]
    pd.testing.assert_frame_equal(a.iloc[2:], b.iloc[2:])


def test_triple_barrier_take_profit_stop_and_vertical() -> None:
    flat = [100.0 + (0.5 if i % 2 else -0.5) for i in range(30)]  # ATR ~ 1 (close-to-close proxy)
    params = LabelParams(kind="triple_barrier", horizon=5, take_profit=2.0, stop=2.0)
    up = triple_barrier(closes(flat + [104, 110, 111, 112, 113, 114]), params).loc["T"]
    row = up.iloc[29]
    assert row["barrier"] == "take_profit" and row["label"] == 1.0
    assert row["end_date"] == up.index[30]  # from 100.5 with ATR 1: 104 is past 102.5
    assert row["atr_proxy"] == 1.0
    down = triple_barrier(closes(flat + [95, 94, 93, 92, 91, 90]), params).loc["T"]
    assert down.iloc[29]["barrier"] == "stop" and down.iloc[29]["label"] == 0.0
    assert down.iloc[29]["end_date"] == down.index[30]
    drift = triple_barrier(closes(flat + [100.6, 100.2, 100.7, 100.4, 100.9, 101]), params).loc["T"]
    assert drift.iloc[29]["barrier"] == "vertical" and drift.iloc[29]["label"] == 1.0
    assert drift.iloc[29]["end_date"] == drift.index[34]


def test_a_bar_touching_both_barriers_counts_as_the_stop() -> None:
    rows = [(100, 100.6, 99.4, 100 + (0.3 if i % 2 else -0.3), 1e5) for i in range(30)]
    rows.append((100, 140, 60, 100, 1e5))
    labels = triple_barrier(bars(rows), LabelParams(kind="triple_barrier", horizon=5)).loc["T"]
    assert labels.iloc[29]["barrier"] == "stop"
    assert labels.iloc[29]["atr_proxy"] == 0.0


def test_regime_sets_the_barriers() -> None:
    panel = to_wide(closes([10.0] * 4))
    regimes = pd.Series([0.0, 2.0, np.nan, 5.0], index=panel.dates)  # bull, bear, unknown, bull
    params = LabelParams(kind="triple_barrier", horizon=5)
    take_profit, stop = barrier_multiples(panel, regimes, params)
    assert take_profit[:, 0].tolist() == [2.5, 2.0, 2.0, 2.5]
    assert stop[:, 0].tolist() == [1.5, 1.0, 1.5, 1.5]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "triple_barrier", "horizon": 20}, "5-15"),
        ({"kind": "direction", "horizon": 0}, r"horizon must be in \[1, 252\] \(got 0\)"),
        ({"horizon": 1e9}, "horizon must be a whole number"),
        ({"horizon": True}, "horizon must be a whole number"),
        ({"horizon": "5"}, "horizon must be a whole number"),
        ({"kind": "sideways"}, "label kind"),
        ({"stop": -1.0}, r"stop must be in \(0, 100\]"),
        ({"take_profit": float("nan")}, r"take_profit must be in \(0, 100\] \(got nan\)"),
        ({"bear_stop": float("inf")}, "bear_stop must be in"),
    ],
)
def test_bad_label_parameters_are_named(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        LabelParams(**kwargs)
