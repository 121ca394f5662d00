"""Relative labels checked by hand on a 4-ticker fixture, and the per-date normalizer:
market-wide columns raw, NaN kept, robust z clipped, no value depending on another date."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.data.schema import to_normalized
from engine.modeling.labels import LabelParams, compute_labels, relative_labels
from engine.modeling.learners.pipeline import _restricted
from engine.modeling.processors import MAD_TO_SIGMA, CrossSectionalNormalizer

D = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"])
NAN = np.nan
# closes by date d0..d4 (NYSE sessions); C has a row at d2 without a close (volume only),
# D has no rows after d2
CLOSES = {
    "A": [100.0, 110.0, 121.0, 133.1, 139.755],
    "B": [100.0, 105.0, 105.0, 105.0, 102.9],
    "C": [100.0, 95.0, NAN, 95.0, 97.85],
    "D": [100.0, 90.0, 81.0],
}
INDEX = pd.Series([100.0, 102.0, NAN, 104.0, 104.0], index=D)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    rows = [
        {"ticker": t, "date": D[i], "close": c, "volume": 1000.0}
        for t, closes in CLOSES.items()
        for i, c in enumerate(closes)
    ]
    return to_normalized(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def labels(prices) -> pd.DataFrame:
    return relative_labels(prices, horizon=1, index_close=INDEX)


def at(labels: pd.DataFrame, column: str, day: int) -> pd.Series:
    return labels.xs(D[day], level="date")[column]


def test_every_input_row_stays_and_nothing_else_appears(prices, labels) -> None:
    assert len(labels) == len(prices) == 18
    assert ("C", D[2]) in labels.index and ("D", D[3]) not in labels.index
    # C's d1 outcome needs its missing d2 close: NaN in every column, row kept
    assert labels.loc[("C", D[1])][["label", "target", "ret", "excess"]].isna().all()


def test_four_names_split_exactly_in_half(labels) -> None:
    # d0 -> d1 returns: A +10%, B +5%, C -5%, D -10%; mean 0, median 0
    assert at(labels, "ret", 0).to_dict() == pytest.approx(
        {"A": 0.10, "B": 0.05, "C": -0.05, "D": -0.10}
    )
    assert at(labels, "label", 0).tolist() == [1.0, 1.0, 0.0, 0.0]
    assert at(labels, "label", 0).mean() == 0.5
    assert at(labels, "excess", 0).to_numpy() == pytest.approx([0.10, 0.05, -0.05, -0.10])
    assert at(labels, "target", 0).to_numpy() == pytest.approx([0.375, 0.125, -0.125, -0.375])
    # against the index (+2% over d0 -> d1)
    assert at(labels, "excess_index", 0).to_numpy() == pytest.approx([0.08, 0.03, -0.07, -0.12])


def test_unknown_outcome_is_not_counted_and_the_median_name_has_no_label(labels) -> None:
    # d1 -> d2: A +10%, B 0, D -10%; C unknown and left out: 3 names, median 0 (B)
    label, excess, target = (at(labels, c, 1) for c in ("label", "excess", "target"))
    assert label["A"] == 1.0 and label["D"] == 0.0
    assert np.isnan(label["B"]) and np.isnan(label["C"])
    assert excess[["A", "B", "D"]].to_numpy() == pytest.approx([0.10, 0.0, -0.10])
    assert target[["A", "B", "D"]].to_numpy() == pytest.approx([1 / 3, 0.0, -1 / 3])
    assert at(labels, "excess_index", 1).isna().all()  # the index has no d2 close
    # d3 -> d4: A +5%, B -2%, C +3% (D gone): mean 2%, median C
    label, excess = at(labels, "label", 3), at(labels, "excess", 3)
    assert label["A"] == 1.0 and label["B"] == 0.0 and np.isnan(label["C"])
    assert excess.to_numpy() == pytest.approx([0.03, -0.04, 0.01])
    assert at(labels, "target", 3).to_numpy() == pytest.approx([1 / 3, -1 / 3, 0.0])
    assert at(labels, "excess_index", 3).to_numpy() == pytest.approx([0.05, -0.02, 0.03])


def test_a_date_with_fewer_than_three_outcomes_has_no_relative_label(labels) -> None:
    # d2 -> d3: only A (+10%) and B (0) are known
    assert at(labels, "ret", 2)[["A", "B"]].to_numpy() == pytest.approx([0.10, 0.0])
    for column in ("label", "target", "excess"):
        assert at(labels, column, 2).isna().all()
    assert labels.xs(D[4], level="date")[["label", "ret", "excess"]].isna().all().all()


def test_excess_sums_to_zero_and_end_dates(prices, labels) -> None:
    sums = labels.groupby(level="date")["excess"].sum(min_count=1).dropna()
    assert list(sums.index) == [D[0], D[1], D[3]]
    assert np.abs(sums.to_numpy()).max() < 1e-15
    ends = labels["end_date"]
    assert ends[("A", D[0])] == D[1] and ends[("A", D[3])] == D[4]
    assert pd.isna(ends[("C", D[1])]) and pd.isna(ends[("A", D[4])])
    two = relative_labels(prices, horizon=2)
    assert two["end_date"][("A", D[0])] == D[2]
    assert pd.isna(two["end_date"][("C", D[0])])  # C's d2 close is missing
    assert two["excess_index"].isna().all()  # no index given
    via = compute_labels(prices, LabelParams(kind="relative", horizon=1), index_close=INDEX)
    pd.testing.assert_frame_equal(via, labels)


# --- the normalizer -----------------------------------------------------------------------

TICKERS = ["T0", "T1", "T2", "T3", "T4"]


def features(n_dates: int = 30, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=n_dates)
    index = pd.MultiIndex.from_product([TICKERS, dates], names=["ticker", "date"])
    frame = pd.DataFrame(
        {
            "stock": rng.standard_normal(len(index)),
            "gappy": rng.standard_normal(len(index)),
            "market": np.tile(rng.standard_normal(n_dates), len(TICKERS)),  # same per date
        },
        index=index,
    )
    frame.loc[frame.sample(frac=0.2, random_state=1).index, "gappy"] = np.nan
    return frame.sort_index(level=["date", "ticker"])


def dates_of(frame: pd.DataFrame) -> pd.DatetimeIndex:
    return frame.index.get_level_values("date")


@pytest.fixture(scope="module")
def split():
    frame = features()
    cut = dates_of(frame).unique()[20]
    return frame[dates_of(frame) < cut], frame[dates_of(frame) >= cut]


def test_normalizer_keeps_market_columns_and_missing_values(split) -> None:
    train, test = split
    normalizer = CrossSectionalNormalizer(clip=2.0).fit(train)
    assert normalizer.stock_columns_ == ["stock", "gappy"]
    assert normalizer.market_columns_ == ["market"]
    # in the test fold the market column varies across tickers; it stays raw all the same
    test = test.assign(market=test["market"] + np.arange(len(test)))
    out = normalizer.transform(test)
    pd.testing.assert_series_equal(out["market"], test["market"], check_exact=True)
    assert (out["gappy"].isna() == test["gappy"].isna()).all()
    assert out["stock"].notna().all()


def test_robust_z_is_hand_checked_and_clipped(split) -> None:
    train, test = split
    day = dates_of(test).unique()[0]
    rows = dates_of(test) == day
    test = test.copy()
    test.loc[rows, "stock"] = [1.0, 2.0, 3.0, 4.0, 100.0]  # median 3, MAD 1
    out = CrossSectionalNormalizer(clip=2.5).fit(train).transform(test)
    expected = np.array([-2.0, -1.0, 0.0, 1.0, 97.0]) / MAD_TO_SIGMA
    assert out.loc[rows, "stock"].to_numpy() == pytest.approx(np.clip(expected, -2.5, 2.5))
    assert out.loc[rows, "stock"].iloc[-1] == 2.5
    assert out["stock"].abs().max() <= 2.5 and out["gappy"].abs().max() <= 2.5
    ranks = CrossSectionalNormalizer("rank").fit(train).transform(test)
    assert ranks.loc[rows, "stock"].to_numpy() == pytest.approx([-0.4, -0.2, 0.0, 0.2, 0.4])


@pytest.mark.parametrize("method", ["robust_zscore", "rank"])
def test_a_value_at_t_ignores_every_other_date(split, method) -> None:
    train, test = split
    normalizer = CrossSectionalNormalizer(method).fit(train)
    day = dates_of(test).unique()[3]
    rows = dates_of(test) == day
    poisoned = test.copy()
    poisoned.loc[~rows, ["stock", "gappy"]] = poisoned.loc[~rows, ["stock", "gappy"]] * -7 + 50
    base = normalizer.transform(test)[rows]
    pd.testing.assert_frame_equal(normalizer.transform(poisoned)[rows], base, check_exact=True)
    pd.testing.assert_frame_equal(normalizer.transform(test[rows]), base, check_exact=True)
    assert not normalizer.transform(poisoned)[~rows].equals(normalizer.transform(test)[~rows])


@pytest.mark.parametrize("method", ["robust_zscore", "rank"])
def test_round_trip_gives_identical_transforms(split, method) -> None:
    train, test = split
    # a date whose values are all equal uses the training fold's fallback scale
    test = test.copy()
    test.loc[dates_of(test) == dates_of(test).unique()[1], "stock"] = 0.5
    fitted = CrossSectionalNormalizer(method, clip=2.0).fit(train)
    params = json.loads(json.dumps(fitted.to_params()))
    rebuilt = CrossSectionalNormalizer.from_params(params)
    assert rebuilt.get_params() == fitted.get_params()
    assert rebuilt.stock_columns_ == fitted.stock_columns_
    pd.testing.assert_frame_equal(rebuilt.transform(test), fitted.transform(test), check_exact=True)
    assert np.isfinite(fitted.transform(test)["stock"]).all()
    with pytest.raises(ValueError, match="subset"):
        CrossSectionalNormalizer.from_params({**params, "stock_columns": ["nope"]})


def test_a_normalizer_restricted_to_the_selected_columns_gives_the_same_values(split) -> None:
    train, test = split
    normalizer = CrossSectionalNormalizer(clip=2.0).fit(train)
    chosen = ["market", "gappy"]
    restricted = _restricted(normalizer, chosen)
    assert restricted.columns_ == ["gappy", "market"] and restricted.stock_columns_ == ["gappy"]
    pd.testing.assert_frame_equal(
        restricted.transform(test[restricted.columns_])[chosen],
        normalizer.transform(test)[chosen],
    )
