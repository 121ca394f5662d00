"""Honesty rule 1: a feature at date t is computed from data dated <= t only.

For many random cut dates t, computing on the prices (and the market context) truncated
at t must give exactly the values of the full computation for every date <= t, for every
feature column and every ticker. The same check must catch a planted look-ahead.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from engine.features import (
    FAMILY_NAMES,
    FeatureParams,
    build_context,
    compute_cross_asset,
    compute_features,
    compute_flow,
    compute_microstructure,
    compute_path,
    compute_patterns,
    compute_regime,
    compute_sentiment,
    compute_technical,
    feature_columns,
)
from engine.features.panel import shift
from engine.modeling.labels import lead
from tests.builders import MARKET_PARAMS, known_by, synthetic_macro, synthetic_sentiment

Compute = Callable[[pd.DataFrame], pd.DataFrame]


def all_features(params: FeatureParams) -> Compute:
    return lambda prices: compute_features(
        prices, context=build_context(prices, params), families=FAMILY_NAMES
    )


def truncation_mismatches(prices: pd.DataFrame, compute: Compute, cuts: list) -> set[str]:
    """Columns whose values at dates <= t change when the data after t is removed."""
    full = compute(prices)
    dates = full.index.get_level_values("date")
    bad: set[str] = set()
    for cut in cuts:
        part = compute(prices[prices["date"] <= cut])
        expected = full[dates <= cut]
        assert part.index.equals(expected.index), f"rows differ when cut at {cut}"
        for column in full.columns:
            if not np.array_equal(
                part[column].to_numpy(), expected[column].to_numpy(), equal_nan=True
            ):
                bad.add(column)
    return bad


def random_cuts(prices: pd.DataFrame, n: int, seed: int, skip: int = 30) -> list:
    dates = np.sort(prices["date"].unique())[skip:-1]
    rng = np.random.default_rng(seed)
    return list(rng.choice(dates, size=n, replace=False))


def test_every_feature_column_is_truncation_exact_on_synthetic_ohlcv(market_panel) -> None:
    compute = all_features(MARKET_PARAMS)
    columns = compute(market_panel).columns
    assert set(feature_columns(params=MARKET_PARAMS)) <= set(columns)
    assert truncation_mismatches(market_panel, compute, random_cuts(market_panel, 12, 1)) == set()


def test_truncation_exact_with_missing_sessions_and_values(gappy_panel) -> None:
    compute = all_features(MARKET_PARAMS)
    assert truncation_mismatches(gappy_panel, compute, random_cuts(gappy_panel, 8, 2)) == set()


def test_truncation_exact_on_real_sample_data(sample_slice) -> None:
    """Close-only stocks, index OHLCV that stops in 2018, VIX that stops in 2019."""
    compute = all_features(FeatureParams())
    assert truncation_mismatches(sample_slice, compute, random_cuts(sample_slice, 6, 3)) == set()


def test_truncation_exact_on_real_ohlcv_bars(wiki_slice) -> None:
    """The sample's WIKI stocks: every flow, microstructure and pattern column has real
    inputs here, so these families are checked on real bars, not only on synthetic ones."""
    compute = all_features(FeatureParams())
    full = compute(wiki_slice)
    # FB starts in 2012-05: too short for the flow family's one-year percentiles
    long_lived = ["WIKI-AAPL", "WIKI-IBM", "WIKI-MSFT", "WIKI-GOOG"]
    stocks = full.loc[full.index.get_level_values("ticker").isin(long_lived)]
    for family in ("flow", "microstructure", "patterns"):
        values = stocks[list(feature_columns([family]))].loc[
            lambda f: f.index.get_level_values("date") >= "2011-06-01"
        ]
        assert values.notna().mean().min() > 0.9, family
    assert truncation_mismatches(wiki_slice, compute, random_cuts(wiki_slice, 4, 5)) == set()


def with_sources(prices: pd.DataFrame, seed: int) -> Compute:
    """All features with synthetic macro and sentiment inputs, cut (as the store would cut
    them) at the last date of the prices computed on."""
    first, last = prices["date"].min(), prices["date"].max()
    tickers = tuple(sorted(prices["ticker"].unique()))
    macro = synthetic_macro(first, last, seed)
    items = synthetic_sentiment(tickers, first, last, seed)

    def compute(part: pd.DataFrame) -> pd.DataFrame:
        known_macro, known_items = known_by(macro, items, part["date"].max())
        context = build_context(part, MARKET_PARAMS, macro=known_macro, sentiment=known_items)
        return compute_features(part, context=context)

    return compute


def test_macro_and_sentiment_columns_are_truncation_exact(market_panel) -> None:
    """Macro rows known after t, news and filings public after t and fetched ranges past
    t are all dropped by the cut; nothing at dates <= t may move."""
    compute = with_sources(market_panel, seed=6)
    full = compute(market_panel)
    sourced = [c for c in full.columns if c.startswith(("news_", "insider_", "btc_", "dgs"))]
    assert full[sourced].iloc[-100:].notna().all().all()  # the inputs really are there
    assert (full["avail_sentiment"].iloc[-100:] == 1).all()
    assert truncation_mismatches(market_panel, compute, random_cuts(market_panel, 8, 7)) == set()


def _with_planted(column: str, make: Callable[[np.ndarray], np.ndarray]) -> Compute:
    """All real features plus one planted column computed per ticker from closes."""

    def compute(prices: pd.DataFrame) -> pd.DataFrame:
        frame = all_features(MARKET_PARAMS)(prices)
        closes = prices.set_index(["ticker", "date"])["close"].reindex(frame.index)
        planted = closes.groupby(level="ticker").transform(
            lambda s: pd.Series(make(s.to_numpy()[:, None])[:, 0], index=s.index)
        )
        return frame.assign(**{column: planted})

    return compute


@pytest.mark.parametrize(
    ("column", "make"),
    [
        ("peek_1d", lambda c: lead(c, 1) / c - 1.0),  # tomorrow's return
        ("full_sample_z", lambda c: (c - np.nanmean(c)) / np.nanstd(c)),  # whole-history scaling
        ("honest_1d", lambda c: c / shift(c) - 1.0),  # control: yesterday's return is fine
    ],
)
def test_the_check_catches_a_planted_look_ahead(market_panel, column, make) -> None:
    bad = truncation_mismatches(
        market_panel, _with_planted(column, make), random_cuts(market_panel, 3, 4)
    )
    assert bad == (set() if column.startswith("honest") else {column})


def test_family_functions_match_the_combined_computation(market_panel) -> None:
    context = build_context(market_panel, MARKET_PARAMS)
    combined = compute_features(market_panel, context=context, families=FAMILY_NAMES)
    parts = [
        compute_technical(market_panel),
        compute_flow(market_panel, context=context),
        compute_microstructure(market_panel),
        compute_cross_asset(market_panel, context=context),
        compute_patterns(market_panel, context=context),
        compute_regime(market_panel, context=context),
        compute_sentiment(market_panel, context=context),
        compute_path(market_panel),
    ]
    assert len(parts) == len(FAMILY_NAMES)
    joined = pd.concat(parts, axis=1)
    pd.testing.assert_frame_equal(joined, combined[joined.columns])


def test_a_tickers_own_families_do_not_depend_on_the_batch(market_panel) -> None:
    """Per-ticker families give the same values alone as in a panel (what the cache relies on)."""
    own = ["technical", "flow", "microstructure", "patterns", "path"]
    together = compute_features(market_panel, families=own)
    one = market_panel[market_panel["ticker"] == "SYN0007"]
    alone = compute_features(one, families=own)
    pd.testing.assert_frame_equal(alone, together.loc[["SYN0007"]])


def test_parameters_reach_the_per_ticker_families(market_panel) -> None:
    default = compute_features(market_panel, families=["flow"])
    looser = compute_features(
        market_panel, families=["flow"], params=FeatureParams(large_volume_percentile=0.5)
    )
    assert not np.allclose(default["ifi_20"], looser["ifi_20"], equal_nan=True)
    np.testing.assert_array_equal(default["cmf_20"], looser["cmf_20"])
