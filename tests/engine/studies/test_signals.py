"""Signal studies: honest on noise, powerful on a planted signal, point in time, and exact on
hand-made examples (episodes, overlap, costs, the IFI score)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from engine.bench.__main__ import main
from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.features.panel import to_wide
from engine.metrics import Interval
from engine.studies.conditions import ConditionError
from engine.studies.signals import (
    ROUND_TRIP_BPS,
    VERDICTS,
    SignalStudyParams,
    compute_signal_study,
    holm_adjust,
    ifi_score,
    regime_names,
    signal_verdict,
)

INDEX = "^GSPC"
N_TRIALS = 50


@pytest.fixture(scope="module")
def null() -> tuple[pd.DataFrame, pd.DataFrame]:
    """A null panel (40 x 800) with a market and its index (so regimes exist): its
    features and the stocks' prices. Nothing in it predicts the future."""
    prices = make_panel(40, 800, kind="null", seed=11, market_vol=0.01, index_ticker=INDEX).prices
    features = compute_features(prices).drop(index=INDEX, level="ticker")
    return features, prices[prices["ticker"] != INDEX].reset_index(drop=True)


def _random_condition(rng: np.random.Generator, features: pd.DataFrame, columns: list) -> str:
    parts = []
    for _ in range(rng.integers(1, 4)):
        column = str(rng.choice(columns))
        threshold = np.quantile(features[column].dropna(), rng.uniform(0.05, 0.95))
        parts.append(f"{column} {rng.choice(['>', '<', '>=', '<='])} {threshold:.6g}")
    text = parts[0]
    for part in parts[1:]:
        text += f" {rng.choice(['and', 'or'])} {part}"
    return text


def test_fifty_random_conditions_on_noise_find_no_edge(null) -> None:
    features, prices = null
    columns = [
        c for c in features.columns if not c.startswith("avail_") and features[c].notna().any()
    ]
    assert {"ifi_20", "smi", "rsi_14", "engulfing", "regime_id"} <= set(columns)
    rng = np.random.default_rng(2024)
    p_values, adjusted, verdicts = [], [], []
    for _ in range(N_TRIALS):
        result = compute_signal_study(
            features,
            prices,
            _random_condition(rng, features, columns),
            SignalStudyParams(trials=N_TRIALS),
        )
        assert result.tests == 3 * N_TRIALS
        p_values += [h.p_value for h in result.horizons]
        adjusted += [h.adjusted_p for h in result.horizons]
        verdicts += [h.verdict for h in result.horizons]
    assert VERDICTS[0] not in verdicts
    assert not np.nanmin(adjusted) < 0.05
    assert not np.nanmin(holm_adjust(p_values)) < 0.05  # the whole family at once
    defined = np.asarray(p_values)[np.isfinite(p_values)]
    assert len(defined) > 100 and np.mean(defined < 0.05) < 0.15  # roughly calibrated


def test_a_planted_signal_is_found_after_costs_among_fifty_trials() -> None:
    planted = make_panel(40, 800, kind="planted", seed=5)
    result = compute_signal_study(
        planted.truth, planted.prices, "signal > 1", SignalStudyParams(trials=N_TRIALS)
    )
    by_horizon = {h.horizon: h for h in result.horizons}
    for horizon in (5, 20):
        found = by_horizon[horizon]
        assert found.verdict == "edge after costs", found
        assert found.adjusted_p < 0.05 and found.after_costs.above(0.0)
    assert by_horizon[20].mean.estimate > by_horizon[5].mean.estimate > 0


def test_the_events_at_t_do_not_change_when_prices_after_t_are_poisoned() -> None:
    prices = make_panel(20, 400, kind="null", seed=4, market_vol=0.01, index_ticker=INDEX).prices
    cut = prices["date"].sort_values().unique()[300]
    poisoned = prices.copy()
    after = poisoned["date"] > cut
    rng = np.random.default_rng(0)
    for column in ("open", "high", "low", "close", "volume"):
        poisoned.loc[after, column] *= rng.lognormal(0, 0.3, after.sum())
    condition = "ifi_score > 60 or (rsi_14 < 40 and smi > 40) or regime_id in {0, 4, 5}"
    results = []
    for frame in (prices, poisoned):
        features = compute_features(frame).drop(index=INDEX, level="ticker")
        stocks = frame[frame["ticker"] != INDEX]
        results.append(compute_signal_study(features, stocks, condition).events)
    clean, dirty = (r[r["date"] <= cut].reset_index(drop=True) for r in results)
    assert len(clean) > 100
    pd.testing.assert_frame_equal(clean[["ticker", "date"]], dirty[["ticker", "date"]])
    known = clean["date"] < cut  # close t+1 <= cut: the one-session outcome is known too
    np.testing.assert_array_equal(clean.loc[known, "excess_1"], dirty.loc[known, "excess_1"])
    assert not results[0][results[0]["date"] > cut].equals(results[1][results[1]["date"] > cut])


@pytest.fixture(scope="module")
def hand() -> tuple[pd.DataFrame, pd.DataFrame]:
    """3 tickers x 20 sessions; "flag" is 1 on SYN0000's rows 2, 3, 4 and 10 and SYN0001's
    rows 5 and 7, NaN on SYN0002's row 6, 0 elsewhere (features as columns, not index)."""
    prices = make_panel(3, 20, kind="null", seed=1).prices
    features = prices[["ticker", "date"]].copy()
    row = features.groupby("ticker").cumcount()
    flag = np.zeros(len(features))
    flag[(features["ticker"] == "SYN0000") & row.isin([2, 3, 4, 10])] = 1.0
    flag[(features["ticker"] == "SYN0001") & row.isin([5, 7])] = 1.0
    flag[(features["ticker"] == "SYN0002") & (row == 6)] = np.nan
    return features.assign(flag=flag), prices


def test_episodes_and_overlap_are_counted_by_hand(hand) -> None:
    features, prices = hand
    result = compute_signal_study(features, prices, "flag == 1")
    one, five, twenty = result.horizons
    assert (five.n_events, five.n_episodes, five.n_dates) == (6, 4, 6)
    # h=5 windows: SYN0000 row 2 -> 4/5 covered by rows 3 and 4; row 3 -> 5/5; row 4 ->
    # 4/5; row 10 -> 0; SYN0001 rows 5 and 7 share sessions 8-10 -> 3/5 each
    assert five.overlap == pytest.approx((0.8 + 1.0 + 0.8 + 0.0 + 0.6 + 0.6) / 6)
    assert one.overlap == 0.0 and (one.n_events, one.n_episodes) == (6, 4)
    assert twenty.n_events == 0 and np.isnan(twenty.mean.estimate)
    assert twenty.verdict == "no evidence" and np.isnan(twenty.adjusted_p)
    events = result.events
    assert len(events) == 6 and events.groupby("ticker")["episode"].nunique().to_dict() == {
        "SYN0000": 2,
        "SYN0001": 2,
    }
    close = to_wide(prices).close
    moved = close[7] / close[2] - 1.0  # SYN0000's first event: row 2, five sessions on
    first = events.iloc[0]
    assert first["excess_5"] == pytest.approx(moved[0] - moved.mean())
    assert np.isnan(events["excess_20"]).all()
    path = result.path
    assert list(path.index) == list(range(-20, 21)) and path.loc[0, "n_events"] == 6
    assert (path.loc[0, ["mean", "low", "high"]] == 0.0).all()
    assert path.loc[5, "mean"] == pytest.approx(events["excess_5"].mean())


def test_a_missing_value_never_makes_an_event(hand) -> None:
    features, prices = hand
    events = compute_signal_study(features, prices, "flag != 1").events
    nan_row = features[features["flag"].isna()].iloc[0]
    assert not ((events["ticker"] == nan_row["ticker"]) & (events["date"] == nan_row["date"])).any()
    assert len(events) == len(features) - 6 - 1


def test_costs_lower_every_after_cost_figure_by_exactly_the_cost(null) -> None:
    features, prices = null
    cheap, dear = (
        compute_signal_study(features, prices, "smi > 60", SignalStudyParams(cost_bps=bps))
        for bps in (ROUND_TRIP_BPS, 30.0)
    )
    assert ROUND_TRIP_BPS == 10.0  # twice the execution model's 5 bps half-spread
    for low, high in zip(cheap.horizons, dear.horizons, strict=True):
        assert low.mean == high.mean
        for found, bps in ((low, 10.0), (high, 30.0)):
            shifted = Interval(*(v - bps / 1e4 for v in found.mean.as_dict().values()))
            assert found.after_costs.as_dict() == pytest.approx(shifted.as_dict(), abs=1e-15)
        gap = {q: low.quantiles[q] - high.quantiles[q] for q in low.quantiles}
        assert gap == pytest.approx(dict.fromkeys(low.quantiles, 0.002))
        assert high.hit_rate.estimate <= low.hit_rate.estimate
        assert abs(low.baseline) < 1e-12  # excess over the universe's own mean
        assert low.difference == pytest.approx(low.mean.estimate - low.baseline)


def test_the_ifi_score_is_seed_000s_formula_and_a_condition_column() -> None:
    raw = np.array([-0.6, -0.3, 0.0, 0.12, 0.3, 0.5, np.nan])
    expected = [0.0, 0.0, 50.0, 70.0, 100.0, 100.0]
    np.testing.assert_allclose(ifi_score(raw)[:-1], expected, atol=1e-12)
    assert np.isnan(ifi_score(raw)[-1])
    assert list(regime_names(np.array([0.0, np.nan])))[1] is None


def test_derived_columns_are_conditions_like_the_frames_own(null) -> None:
    features, prices = null
    score = compute_signal_study(features, prices, "ifi_score > 72").events
    raw = compute_signal_study(features, prices, "ifi_20 > 0.132").events
    pd.testing.assert_frame_equal(score, raw)
    by_name = compute_signal_study(
        features, prices, "regime_name in {'Low vol · strong breadth · ATR expanding'}"
    ).events
    by_id = compute_signal_study(features, prices, "regime_id in {0}").events
    pd.testing.assert_frame_equal(by_name, by_id)
    with pytest.raises(ConditionError, match="did you mean ifi_score"):
        compute_signal_study(features, prices, "ifi_scor > 70")
    without = features.drop(columns="ifi_20")
    with pytest.raises(ConditionError, match="unknown column 'ifi_score'"):
        compute_signal_study(without, prices, "ifi_score > 70")


def test_long_prices_and_their_wide_panel_give_the_same_study(null) -> None:
    features, prices = null
    long = compute_signal_study(features, prices, "rsi_14 < 35 or engulfing == 1")
    wide = compute_signal_study(features, to_wide(prices), "rsi_14 < 35 or engulfing == 1")
    assert long.horizons == wide.horizons
    pd.testing.assert_frame_equal(long.events, wide.events)
    pd.testing.assert_frame_equal(long.path, wide.path)


def test_holm_matches_statsmodels_and_bounds_a_family_given_in_part() -> None:
    p = np.random.default_rng(3).uniform(0, 0.2, 12)
    np.testing.assert_allclose(holm_adjust(p), multipletests(p, method="holm")[1])
    assert holm_adjust([0.001], n_tests=30)[0] == pytest.approx(0.03)
    assert holm_adjust([0.5], n_tests=30)[0] == 1.0
    partial = holm_adjust([0.001, 0.004], n_tests=5)
    full = multipletests([0.001, 0.004, 1.0, 1.0, 1.0], method="holm")[1][:2]
    np.testing.assert_allclose(partial, full)
    assert np.isnan(holm_adjust([np.nan, 0.01])[0]) and holm_adjust([np.nan, 0.01])[1] == 0.02
    with pytest.raises(ValueError, match="family of 1 tests"):
        holm_adjust([0.1, 0.2], n_tests=1)


def test_the_verdict_needs_both_the_adjusted_p_and_an_interval_above_zero() -> None:
    above, straddles = Interval(0.01, 0.002, 0.02), Interval(0.01, -0.001, 0.02)
    assert signal_verdict(0.01, above) == "edge after costs"
    assert signal_verdict(0.01, straddles) == "no evidence"
    assert signal_verdict(0.2, above) == "no evidence"
    assert signal_verdict(np.nan, above) == "no evidence"


def test_earlier_p_values_join_the_family(null) -> None:
    features, prices = null
    alone = compute_signal_study(features, prices, "smi > 60", SignalStudyParams(trials=4))
    own = [h.p_value for h in alone.horizons]
    earlier = (0.0001, 0.3, 0.9)
    joined = compute_signal_study(
        features, prices, "smi > 60", SignalStudyParams(trials=4, earlier_p_values=earlier)
    )
    expected = holm_adjust([*earlier, *own], n_tests=12)[3:]
    np.testing.assert_allclose([h.adjusted_p for h in joined.horizons], expected)
    with pytest.raises(ValueError, match="raise trials"):
        SignalStudyParams(trials=1, earlier_p_values=(0.1,))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cost_bps": 0.0}, "cost above 0"),
        ({"horizons": (0, 5)}, "horizons"),
        ({"alpha": 1.5}, "alpha"),
    ],
)
def test_parameters_are_checked(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SignalStudyParams(**kwargs)


def test_the_signals_benchmark_reports_its_figures(capsys) -> None:
    result = main(["signals", "--tickers", "6", "--days", "300"])
    assert json.loads(capsys.readouterr().out) == result
    assert result["rows"] == 6 * 300 and result["events"] > 0
    for key in ("study_s", "sparse_study_s", "features_s"):
        assert result[key] > 0
