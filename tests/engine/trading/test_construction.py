"""Portfolio construction: TopkDropout's replacement cap, a dollar-neutral long-short book,
skfolio weights from rows <= t only, the caps named, every method traded through the
execution model with costs, and no Deflated Sharpe on a null panel."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from engine.data.synthetic import make_panel
from engine.features.panel import to_wide
from engine.metrics import TRADING_DAYS, daily_returns, deflated_sharpe, sharpe
from engine.trading.backtest import (
    BacktestConfig,
    BacktestResult,
    backtest_forecasts,
    compute_relative_statistics,
)
from engine.trading.construction import (
    CONSTRUCTION_METHODS,
    KELLY,
    ConstructionParams,
    construct_row,
    constructed_weight_arrays,
    default_construction,
    rebalance_due,
    topk_dropout,
)
from engine.trading.sizing import SizingParams, size_row, sized_weight_arrays, sizing_inputs

# caps that never bind: the construction's own weights show
LOOSE = SizingParams(max_weight=1.0, target_vol=10.0, sector_limit_bull=1.0, sector_limit_bear=1.0)


@pytest.fixture(scope="module")
def panel():
    return to_wide(make_panel(12, 320, seed=7).prices)


def random_predictions(panel, seed: int = 0, start: int = 160) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.MultiIndex.from_product(
        [list(panel.tickers), panel.dates[start:]], names=["ticker", "date"]
    )
    return pd.DataFrame(
        {
            "p": rng.uniform(0.45, 0.6, len(index)),
            "score": rng.standard_normal(len(index)),
            "regime_id": 0.0,
        },
        index=index,
    )


def decided_rows(weights: np.ndarray) -> np.ndarray:
    return np.flatnonzero(np.isfinite(weights).any(axis=1))


def test_params_validate_and_round_trip() -> None:
    params = ConstructionParams(method="top_k", k=4, max_replacements=1)
    assert ConstructionParams.from_dict(params.as_dict()) == params
    with pytest.raises(ValueError, match="unknown construction parameters: n_drop"):
        ConstructionParams.from_dict({"method": "top_k", "n_drop": 2})
    for bad, message in [
        ({"method": "magic"}, "method must be one of"),
        ({"k": 0}, "k must be"),
        ({"k": 2, "max_replacements": 3}, "must be <= k"),
        ({"quantile": 0.7}, "quantile"),
        ({"lookback": 5}, "lookback"),
        ({"rebalance": 0}, "rebalance"),
    ]:
        with pytest.raises(ValueError, match=message):
            ConstructionParams(**bad)
    assert default_construction("market_timing") == KELLY and KELLY.rebalance == 1
    assert default_construction("cross_sectional").method == "top_k"


def test_topk_dropout_follows_qlib() -> None:
    scores = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0, np.nan])
    assert np.flatnonzero(topk_dropout(scores, np.zeros(7, bool), k=3, n_drop=1)).tolist() == [
        0,
        1,
        2,
    ]
    held = np.array([False, False, False, True, True, True, False])  # the three worst
    chosen = topk_dropout(scores, held, k=3, n_drop=1)
    assert np.flatnonzero(chosen).tolist() == [0, 3, 4]  # sells one (the worst), buys the best
    chosen = topk_dropout(scores, held, k=3, n_drop=3)
    assert np.flatnonzero(chosen).tolist() == [0, 1, 2]
    best = np.array([True, True, True, False, False, False, False])
    assert (topk_dropout(scores, best, k=3, n_drop=2) == best).all()  # nothing better to buy


def test_top_k_holds_k_and_replaces_at_most_n_drop_per_rebalance(panel) -> None:
    params = ConstructionParams(method="top_k", k=4, max_replacements=1)
    weights, stops, _, trailing = constructed_weight_arrays(
        panel, random_predictions(panel), 1.0, LOOSE, params
    )
    rows = decided_rows(weights)
    due = rebalance_due(panel.dates, params.rebalance)
    assert len(rows) > 10 and due[rows[1:]].all()  # after the first, rebalance sessions only
    held = [set(np.flatnonzero(weights[i] > 0)) for i in rows]
    assert all(len(h) == 4 for h in held)
    assert all(len(before - after) <= 1 for before, after in zip(held, held[1:], strict=False))
    assert any(before != after for before, after in zip(held, held[1:], strict=False))
    assert np.allclose(np.nansum(weights[rows], axis=1), 1.0)  # 1/k each
    assert np.isnan(stops).all() and not trailing.any()  # exits by rebalance only


def test_rebalance_sessions_do_not_depend_on_where_a_run_starts(panel) -> None:
    dates = panel.dates
    due = rebalance_due(dates, 5)
    assert (rebalance_due(dates[3:], 5) == due[3:]).all()
    assert due.sum() == pytest.approx(len(dates) / 5, abs=1)
    assert (np.diff(np.flatnonzero(due)) == 5).all()  # the panel's dates are NYSE sessions


def test_long_short_is_dollar_neutral_within_the_gross_limit(panel) -> None:
    params = ConstructionParams(method="long_short", quantile=0.25)
    predictions = random_predictions(panel)
    for sizing in (dataclasses.replace(LOOSE, gross_limit=0.8), SizingParams(max_weight=0.3)):
        weights, *_ = constructed_weight_arrays(panel, predictions, 1.0, sizing, params)
        rows = decided_rows(weights)
        w = np.nan_to_num(weights[rows])
        longs, shorts = np.where(w > 0, w, 0).sum(axis=1), -np.where(w < 0, w, 0).sum(axis=1)
        assert np.allclose(longs, shorts) and (longs > 0).all()
        assert (longs + shorts <= sizing.gross_limit + 1e-12).all()
        assert ((w > 0).sum(axis=1) == 3).all() and ((w < 0).sum(axis=1) == 3).all()


@pytest.mark.parametrize("method", ["hrp", "mean_risk"])
def test_risk_weights_sum_to_the_target_and_use_rows_up_to_t_only(panel, method) -> None:
    params = ConstructionParams(method=method, k=5)
    i = 200
    rng = np.random.default_rng(3)
    scores = rng.standard_normal(len(panel.tickers))
    inputs = sizing_inputs(panel)

    def decide(wide):
        return construct_row(
            wide, i, scores, np.full(len(scores), 0.5), np.zeros(len(scores)),
            params=params, sizing=LOOSE, regime_id=0.0, inputs=inputs, ratio=1.0,
        )  # fmt: skip

    first = decide(panel)
    poisoned = dataclasses.replace(panel, close=panel.close.copy())
    poisoned.close[i + 1 :] *= rng.uniform(0.2, 5.0, poisoned.close[i + 1 :].shape)
    again = decide(poisoned)
    pd.testing.assert_frame_equal(first, again)
    assert first["weight"].sum() == pytest.approx(1.0)
    assert (first["weight"] > 0).sum() == 5 and first["binding"].eq("").all()
    assert first["weight"].nunique() > 1  # fitted, not equal weight
    short = decide(dataclasses.replace(panel, close=np.where(np.arange(320)[:, None] < 190,
                                                             np.nan, panel.close)))  # fmt: skip
    chosen = short[short["weight"] > 0]
    assert np.allclose(chosen["weight"], 0.2)
    assert chosen["binding"].str.startswith("equal weight (10 sessions of history").all()


def test_the_caps_still_bind_and_are_named(panel) -> None:
    predictions = random_predictions(panel)
    capped = SizingParams(max_weight=0.1, gross_limit=0.3, target_vol=10.0)
    for method in CONSTRUCTION_METHODS[1:]:
        params = ConstructionParams(method=method, k=4)
        weights, *_ = constructed_weight_arrays(panel, predictions, 1.0, capped, params)
        w = np.nan_to_num(weights[decided_rows(weights)])
        assert (np.abs(w) <= 0.1 + 1e-12).all() and (np.abs(w).sum(axis=1) <= 0.3 + 1e-12).all()
    i = 200
    scores = np.random.default_rng(1).standard_normal(len(panel.tickers))
    row = construct_row(
        panel, i, scores, np.full(len(scores), 0.5), np.zeros(len(scores)),
        params=ConstructionParams(method="top_k", k=4), sizing=capped, regime_id=0.0,
        inputs=sizing_inputs(panel), ratio=1.0,
    )  # fmt: skip
    held = row[row["weight"] > 0]
    assert held["binding"].str.contains("max weight per ticker").all()
    assert held["binding"].str.contains("gross limit 30%").all()


def test_kelly_is_todays_sizing(panel) -> None:
    predictions = random_predictions(panel)
    sizing = SizingParams()
    ours = constructed_weight_arrays(panel, predictions, 1.2, sizing, KELLY)
    inputs = sizing_inputs(panel)
    p = predictions["p"].unstack("ticker").reindex(panel.dates)
    for i in (160, 161, 250):  # today's rule: size_row on every forecast date
        row = size_row(
            panel, i, p.iloc[i].to_numpy(), regime_id=0.0, ratio=1.2, sizing=sizing, inputs=inputs
        )
        np.testing.assert_array_equal(ours[0][i], row["weight"].to_numpy())
        np.testing.assert_array_equal(ours[1][i], row["stop"].to_numpy())
    legacy = sized_weight_arrays(panel, predictions, 1.2, sizing)
    for mine, theirs in zip(ours, legacy, strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert len(decided_rows(ours[0])) == len(panel.dates) - 160
    assert np.isfinite(ours[1][decided_rows(ours[0])]).any()  # Kelly keeps its ATR stops


@pytest.mark.parametrize("method", CONSTRUCTION_METHODS)
def test_every_method_trades_through_the_execution_model_with_costs(panel, method) -> None:
    result = backtest_forecasts(
        panel,
        random_predictions(panel),
        1.0,
        sizing=SizingParams(max_weight=0.25),
        config=BacktestConfig(),
        construction=ConstructionParams(method=method, k=4),
    )
    assert len(result.trades) > 5 and result.costs.to_numpy().sum() > 0
    assert np.isfinite(result.equity).all() and result.state is not None


def test_relative_statistics_are_the_sharpe_of_the_excess(panel) -> None:
    result = backtest_forecasts(
        panel, random_predictions(panel), 1.0, sizing=SizingParams(max_weight=0.25),
        config=BacktestConfig(), construction=ConstructionParams(method="top_k"),
    )  # fmt: skip
    flat = pd.Series(1.0, index=result.equity.index)
    stats = compute_relative_statistics(result, {"cash": flat}, n_boot=50)
    returns = daily_returns(result.equity)
    assert stats["ir_cash"].estimate == pytest.approx(sharpe(returns))
    assert stats["excess_cash"].estimate == pytest.approx(np.mean(returns) * TRADING_DAYS)
    assert stats["ir_cash"].low <= stats["ir_cash"].estimate <= stats["ir_cash"].high


def test_no_method_shows_a_deflated_sharpe_on_a_null_panel() -> None:
    """Random scores on a panel without signal: the trials together show no skill."""
    null = to_wide(make_panel(10, 500, kind="null", seed=13).prices)
    results: list[BacktestResult] = []
    for seed, method in enumerate(CONSTRUCTION_METHODS):
        results.append(
            backtest_forecasts(
                null,
                random_predictions(null, seed=seed, start=140),
                1.0,
                sizing=SizingParams(max_weight=0.25),
                config=BacktestConfig(),
                construction=ConstructionParams(method=method, k=4),
            )
        )
    per_period = [sharpe(daily_returns(r.equity)) / np.sqrt(TRADING_DAYS) for r in results]
    variance = float(np.var(per_period, ddof=1))
    for result in results:
        assert deflated_sharpe(daily_returns(result.equity), len(results), variance) < 0.95
