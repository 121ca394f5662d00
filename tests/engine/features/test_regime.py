"""The 12-state regime: coverage on real data, the formula, proxies, transitions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.calendar import sessions_between
from engine.data.sample import load_sample_prices
from engine.features import REGIME_NAMES, FeatureParams, build_context, compute_regime_history
from engine.features.context import MarketContext
from engine.features.regime import is_bull, regime_transitions


@pytest.fixture(scope="module")
def sample_history() -> pd.DataFrame:
    return compute_regime_history(build_context(load_sample_prices()))


def test_sample_data_visits_all_twelve_regimes(sample_history) -> None:
    ids = sample_history["regime_id"].dropna().astype(int)
    assert set(ids) == set(range(12))
    assert sample_history["regime_id"].notna().mean() > 0.99
    for regime_id, name in zip(ids, sample_history.loc[ids.index, "regime_name"], strict=True):
        assert REGIME_NAMES[regime_id] == name


def test_sample_uses_vix_where_it_exists_and_the_proxy_elsewhere(sample_history) -> None:
    assert (sample_history.loc["2015", "vol_proxy"] == 0.0).all()
    assert (sample_history.loc["2021", "vol_proxy"] == 1.0).all()
    assert (sample_history.loc["2005", "atr_proxy"] == 0.0).all()  # index has high/low
    assert (sample_history.loc["1995", "atr_proxy"] == 1.0).all()  # closes only


def _context(vix: float | None, breadth: float, widening: bool) -> MarketContext:
    dates = sessions_between(pd.Timestamp("2021-01-04"), pd.Timestamp("2021-12-31"))[:200]
    close = pd.Series(100.0, index=dates)
    half_range = np.where(np.arange(200) < 150, 0.5, 2.0 if widening else 0.1)
    index = pd.DataFrame(
        {"open": close, "high": close + half_range, "low": close - half_range, "close": close}
    )
    return MarketContext(
        params=FeatureParams(),
        index=index,
        vix=None if vix is None else pd.Series(vix, index=dates),
        factors=pd.DataFrame(index=dates),
        breadth=pd.Series(breadth, index=dates),
        universe=(),
    )


@pytest.mark.parametrize(
    ("vix", "breadth", "widening", "expected"),
    [
        (30.0, 0.3, True, 10),  # high vol, weak breadth, expanding
        (12.0, 0.8, False, 1),  # low vol, strong breadth, contracting
        (20.0, 0.5, True, 4),  # normal vol; exactly half counts as strong
        (20.0, 0.49, False, 7),
    ],
)
def test_regime_formula(vix, breadth, widening, expected) -> None:
    history = compute_regime_history(_context(vix, breadth, widening))
    last = history.iloc[-1]
    assert last["regime_id"] == expected
    assert last["regime_name"] == REGIME_NAMES[expected]
    assert last["vol_proxy"] == 0.0 and last["atr_proxy"] == 0.0


def test_without_vix_the_flagged_proxy_sets_the_level() -> None:
    history = compute_regime_history(_context(None, 0.7, True))
    # A flat index has zero realized volatility: low-volatility regime, flagged as proxy.
    assert history["vol_proxy"].dropna().eq(1.0).all()
    assert history.iloc[-1]["regime_id"] == 0


def test_missing_input_means_no_regime() -> None:
    context = _context(20.0, np.nan, True)
    assert compute_regime_history(context)["regime_id"].isna().all()


def test_bull_is_strong_breadth() -> None:
    assert list(is_bull(np.arange(12))) == [True, True, False, False] * 3


def test_transition_matrix_counts_next_day_regimes() -> None:
    history = pd.DataFrame({"regime_id": [0, 0, 1, 1, 0, np.nan, 3]})
    matrix = regime_transitions(history)
    assert matrix.shape == (12, 12)
    assert matrix.loc[0, 0] == pytest.approx(0.5) and matrix.loc[0, 1] == pytest.approx(0.5)
    assert matrix.loc[1, 1] == pytest.approx(0.5) and matrix.loc[1, 0] == pytest.approx(0.5)
    assert matrix.loc[5].isna().all()
    observed = matrix.dropna(how="all")
    np.testing.assert_allclose(observed.sum(axis=1), 1.0)
