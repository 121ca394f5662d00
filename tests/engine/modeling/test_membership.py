"""The point-in-time universe: the membership rule, and labels of a survivor-only universe
against the point-in-time one on a hand-checkable delisting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.schema import to_normalized
from engine.modeling.labels import LabelParams, compute_labels, relative_labels
from engine.modeling.membership import (
    is_member,
    members_in,
    membership_frame,
    membership_mask,
    membership_records,
    universe_window,
)
from engine.modeling.training import TrainConfig, build_dataset

D = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"])
NAN = np.nan
# one-session returns from each date (horizon 1). F collapses (-50%, -60%) and its prices
# end on d2: it is delisted, and leaves the watchlist on d3, its first session without a
# price. Today's members are A-E.
RETURNS = {
    "A": [0.04, -0.01, 0.01, 0.0],
    "B": [0.03, 0.01, 0.02, 0.0],
    "C": [0.02, 0.02, 0.03, 0.0],
    "D": [0.01, 0.03, 0.04, 0.0],
    "E": [0.00, 0.04, 0.05, 0.0],
    "F": [-0.50, -0.60],
}
SPELLS = [(t, None, None) for t in "ABCDE"] + [("F", None, "2024-01-05")]


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    rows = []
    for ticker, returns in RETURNS.items():
        closes = 100.0 * np.cumprod([1.0, *(1.0 + np.array(returns))])
        rows += [{"ticker": ticker, "date": D[i], "close": c} for i, c in enumerate(closes)]
    return to_normalized(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def membership() -> pd.DataFrame:
    return membership_frame(SPELLS)


def test_the_rule_counts_added_and_excludes_removed() -> None:
    spells = membership_frame(
        [
            ("A", "2024-01-03", "2024-01-05"),
            ("A", "2024-01-08", None),  # rejoined
            ("B", None, "2024-01-04"),
            ("C", None, None),
        ]
    )
    dates = np.repeat(D.to_numpy(), 4)
    tickers = np.tile(np.array(["A", "B", "C", "X"], dtype=object), len(D))
    got = is_member(spells, tickers, dates).reshape(len(D), 4)
    assert got.tolist() == [
        # A      B      C     X (no spell: never a member)
        [False, True, True, False],  # 01-02
        [True, True, True, False],  # 01-03: A joins that day
        [True, False, True, False],  # 01-04: B's removal date, not a member any more
        [False, False, True, False],  # 01-05: A's removal date
        [True, False, True, False],  # 01-08: A rejoins
    ]
    expected = {
        ("A", D[0]): False,
        ("A", D[1]): True,
        ("A", D[2]): True,
        ("A", D[3]): False,  # removed on 01-05
        ("A", D[4]): True,  # rejoined on 01-08
        ("B", D[1]): True,
        ("B", D[2]): False,  # removed on 01-04
        ("C", D[4]): True,
        ("X", D[0]): False,
    }
    index = pd.MultiIndex.from_tuples(list(expected), names=["ticker", "date"])
    assert membership_mask(spells, index).tolist() == list(expected.values())
    assert membership_mask(None, index).all()


def test_bad_spells_are_refused() -> None:
    with pytest.raises(ValueError, match="removed on 2024-01-02, not after it was added"):
        membership_frame([("A", "2024-01-03", "2024-01-02")])
    with pytest.raises(ValueError, match="ISO dates"):
        membership_frame([("A", "not a date", None)])
    with pytest.raises(ValueError, match="is \\(ticker, added, removed\\)"):
        membership_frame([("A", None)])
    with pytest.raises(ValueError, match="ISO dates"):
        TrainConfig(("A",), membership=(("A", "yesterday-ish", None),))
    with pytest.raises(ValueError, match="list of"):
        TrainConfig.from_dict({"tickers": ["A"], "membership": 5})


def test_the_window_counts_who_joined_and_left(membership) -> None:
    spells = membership_frame([*SPELLS, ("G", "2024-01-04", None)])
    window = universe_window(spells, D[0], D[2])
    assert window.tickers == tuple("ABCDEF") + ("G",)
    assert window.current == tuple("ABCDE") + ("G",)
    assert (window.added, window.removed) == (1, 0)  # F leaves on 01-05, after the window
    later = universe_window(spells, D[3], D[4])
    assert (later.added, later.removed) == (0, 0)  # F's removal is the window's first day
    assert "F" not in later.tickers  # not a member on any date of it
    assert universe_window(spells, D[2], D[4]).removed == 1
    assert membership_records(window.membership)[-2:] == (
        ("F", None, "2024-01-05"),
        ("G", "2024-01-04", None),
    )
    with pytest.raises(ValueError, match="after its end"):
        universe_window(spells, D[4], D[0])
    assert members_in(spells, ["G", "F", "A", "X"], D[3]) == ["G", "A"]
    assert members_in(spells, ["G", "F", "A"], None, D[1]) == ["F", "A"]
    assert members_in(None, ["G", "X"], D[3]) == ["G", "X"]


def test_survivor_only_and_point_in_time_labels_differ_on_the_delisting(prices, membership) -> None:
    survivors = relative_labels(prices[prices["ticker"] != "F"], horizon=1)
    point_in_time = relative_labels(prices, horizon=1, membership=membership)
    # d0: survivors' median is C's +2% (C sits on it: NaN); with F's -50% the median of
    # six is (1% + 2%) / 2 = 1.5%, so C beats it
    # d1: survivors' median is C's +2% again; with F's -60% it is (1% + 2%) / 2 = 1.5%
    assert survivors.xs(D[0], level="date")["label"].to_dict() == pytest.approx(
        {"A": 1.0, "B": 1.0, "C": NAN, "D": 0.0, "E": 0.0}, nan_ok=True
    )
    assert point_in_time.xs(D[0], level="date")["label"].to_dict() == {
        "A": 1.0,
        "B": 1.0,
        "C": 1.0,
        "D": 0.0,
        "E": 0.0,
        "F": 0.0,
    }
    assert point_in_time.xs(D[1], level="date")["label"].to_dict() == {
        "A": 0.0,
        "B": 0.0,
        "C": 1.0,
        "D": 1.0,
        "E": 1.0,
        "F": 0.0,
    }
    shared = survivors.index
    left, right = survivors["label"], point_in_time["label"].reindex(shared)
    differ = shared[~((left == right) | (left.isna() & right.isna()))]
    assert sorted(differ) == [("C", D[0]), ("C", D[1])]  # d2 on: F has no outcome, same
    # the equal-weight mean moves too: A's d0 excess is 4% - 2% among survivors, and
    # 4% - (10% - 50%) / 6 = 4% + 6.67% with F
    assert survivors.loc[("A", D[0]), "excess"] == pytest.approx(0.02)
    assert point_in_time.loc[("A", D[0]), "excess"] == pytest.approx(0.04 + 0.40 / 6)
    # d2: F's outcome needs a d3 price it never had: NaN in every column, row kept
    assert point_in_time.loc[("F", D[2])][["label", "ret", "target", "excess"]].isna().all()
    assert pd.isna(point_in_time.loc[("F", D[2]), "end_date"])


def test_a_ticker_is_out_of_the_cross_section_on_dates_it_was_not_a_member(prices) -> None:
    # F leaves on d1 (still trading): from d1 on, the median is the survivors' again
    spells = membership_frame([(t, None, None) for t in "ABCDE"] + [("F", None, "2024-01-03")])
    labels = relative_labels(prices, horizon=1, membership=spells)
    assert labels.loc[("F", D[0]), "label"] == 0.0
    assert labels.loc[("F", D[1])][["label", "ret", "excess_index"]].isna().all()
    assert np.isnan(labels.loc[("C", D[1]), "label"])  # at the five members' median
    absolute = compute_labels(prices, LabelParams(kind="direction", horizon=1), None, None, spells)
    assert absolute.loc[("F", D[0]), "label"] == 0.0
    assert absolute.loc[("F", D[1])][["label", "ret"]].isna().all()
    assert pd.isna(absolute.loc[("F", D[1]), "end_date"])


def test_the_training_set_holds_members_on_their_member_dates_only(prices, membership) -> None:
    index = pd.MultiIndex.from_frame(prices[["ticker", "date"]])
    features = pd.DataFrame({"x": np.arange(len(index), dtype=float)}, index=index)
    config = TrainConfig(
        tuple("ABCDEF"),
        label=LabelParams(horizon=1),
        membership=membership_records(membership),
    )
    data = build_dataset(features, prices, None, config)
    assert data.loc[("F", D[0]), "label"] == 0.0 and data.loc[("C", D[0]), "label"] == 1.0
    assert ("F", D[2]) not in data.index  # no outcome: not a training row
    today = TrainConfig(tuple("ABCDE"), label=LabelParams(horizon=1))
    fixed = build_dataset(features, prices, None, today)
    assert ("C", D[0]) not in fixed.index  # survivors only: C sits on the median
    assert TrainConfig.from_dict(config.as_dict()) == config
