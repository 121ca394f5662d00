"""Backtesting a registered run: out-of-sample signals only, trials counted, spread options."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.data.schema import FetchResult
from engine.data.synthetic import make_panel
from engine.data.universe import sector_of
from engine.features import REGIME_NAMES
from engine.modeling.labels import LabelParams
from engine.modeling.learners import LearnerParams
from engine.modeling.training import TrainConfig
from engine.trading.construction import KELLY, ConstructionParams
from engine.workflows.research.backtests import run_construction, set_run_construction


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory):
    db = tmp_path_factory.mktemp("model_backtest") / "store.db"
    panel = make_panel(12, 700, kind="planted", seed=31)
    assert workflows.ingest(db, FetchResult("synthetic", panel.prices, True)).status == "ok"
    tickers = tuple(sorted(panel.prices["ticker"].unique()))
    config = TrainConfig(
        tickers,
        train_months=12,
        test_months=3,
        n_boot=20,
        label=LabelParams(kind="direction"),
        learner=LearnerParams(kind="market_timing", n_estimators=150),
    )
    record = workflows.train_model(db, config)
    workflows.activate_run(db, record.run_id)
    return db, record


@pytest.fixture
def fresh_copy(synthetic_run, tmp_path):
    """A private copy of the trained store, so its trial count starts at zero whatever
    other tests backtested on the shared one before."""
    db, record = synthetic_run
    copy = tmp_path / "store.db"
    shutil.copy(db, copy)
    return copy, record


def test_signals_start_where_the_walk_forward_starts_and_trials_add_up(fresh_copy) -> None:
    db, record = fresh_copy
    first = workflows.run_model_backtest(db, n_boot=50)
    predictions, _ = workflows.load_oos_predictions(db)
    first_signal = predictions.index.get_level_values("date").min()
    trades = first.result.trades
    assert trades["date"].min() > first_signal  # traded the session after the first forecast
    assert first.result.equity.index.min() == first_signal
    assert first.n_trials == 1 and first.statistics["n_trials"] == 1
    second = workflows.run_model_backtest(db, n_boot=50)
    assert second.n_trials == 2
    assert second.statistics["dsr"] <= second.statistics["psr"] + 1e-12
    assert set(first.benchmarks) == {"equal-weight buy and hold"}  # no index stored here


def test_corwin_schultz_spread_changes_the_spread_cost(synthetic_run) -> None:
    db, _ = synthetic_run
    fixed = workflows.run_model_backtest(db, n_boot=20).result.costs["spread"].sum()
    estimated = workflows.run_model_backtest(db, n_boot=20, corwin_schultz_spread=True)
    assert estimated.result.costs["spread"].sum() != pytest.approx(fixed)
    assert np.isfinite(estimated.result.equity).all()
    assert isinstance(estimated.result.equity, pd.Series)


def test_the_run_construction_is_stored_and_reported_against_both_benchmarks(
    synthetic_run,
) -> None:
    db, record = synthetic_run
    assert run_construction(workflows.load_run(db, record.run_id)) == KELLY  # market timing
    top_k = ConstructionParams(method="top_k", k=4, max_replacements=1)
    with pytest.raises(workflows.StoreError, match="no model run"):
        set_run_construction(db, "nope", top_k)
    set_run_construction(db, record.run_id, top_k)
    stored = workflows.load_run(db, record.run_id)
    assert stored.construction == top_k.as_dict() and run_construction(stored) == top_k
    before = workflows.run_model_backtest(db, n_boot=20).n_trials
    outcome = workflows.run_model_backtest(db, n_boot=20)  # the stored construction
    assert outcome.construction == top_k and outcome.n_trials == before + 1
    stats = outcome.statistics
    for key in ("excess_universe", "ir_universe", "sharpe"):
        assert stats[key].low <= stats[key].estimate <= stats[key].high
    assert "excess_index" not in stats  # no index stored here
    assert stats["costs"] > 0 and stats["turnover"] > 0 and stats["dsr"] <= stats["psr"]
    held = (outcome.result.positions != 0).sum(axis=1)
    assert held.max() <= 4
    kelly = workflows.run_model_backtest(db, n_boot=20, construction=KELLY)
    assert kelly.construction == KELLY
    assert not kelly.result.equity.equals(outcome.result.equity)


def test_a_sample_backtest_is_broken_down_by_regime_and_sector(trained_db) -> None:
    db, _ = trained_db
    outcome = workflows.run_model_backtest(db, n_boot=30)
    regimes, sectors = outcome.breakdown.by_regime, outcome.breakdown.by_sector
    assert set(regimes["part"]) <= set(REGIME_NAMES) and len(regimes) >= 3
    # every day after the first with a known regime the day before is filed once
    assert regimes["days"].sum() <= len(outcome.result.equity) - 1
    assert regimes["days"].sum() > 0.9 * (len(outcome.result.equity) - 1)
    held = {sector_of(t) for t in outcome.result.positions.columns}
    assert set(sectors["part"]) == held | {"trading and costs"}
    for table in (regimes, sectors):
        rows = table[table["days"] >= 5 * 21]
        assert len(rows) >= 2 and rows[["sharpe", "hit_rate", "excess"]].notna().all().all()
        assert (rows["sharpe_low"] <= rows["sharpe_high"]).all()
        assert (rows["hit_rate_low"] <= rows["hit_rate"]).all()
        assert table.loc[table["days"] < 5 * 21, "sharpe"].isna().all()


def test_the_last_day_book_is_stressed_with_data_up_to_that_day(trained_db) -> None:
    db, _ = trained_db
    outcome = workflows.run_model_backtest(db, n_boot=20)
    stress, last = outcome.stress, outcome.result.equity.index[-1]
    assert stress.as_of == last
    held = outcome.result.positions.iloc[-1]
    assert set(stress.weights[stress.weights != 0].index) == set(held[held != 0].index)
    assert (pd.to_datetime(stress.replays["end"]) <= last).all() and len(stress.replays) >= 2
    # a long-only book loses in an index fall, twice as much in one twice as deep
    shocks = stress.shocks.set_index("shock")["book_return"]
    assert shocks["index -10%"] < 0
    assert shocks["index -20%"] == pytest.approx(2 * shocks["index -10%"])
    assert stress.tail is not None and (stress.tail.table["cvar"] >= stress.tail.table["var"]).all()


def test_the_backtest_is_attributed_to_factors_and_the_parts_add_up(trained_db) -> None:
    db, _ = trained_db
    outcome = workflows.run_model_backtest(db, n_boot=20)
    daily, cumulative = outcome.attribution.daily, outcome.attribution.cumulative
    book = outcome.result.equity.pct_change().reindex(daily.index)
    np.testing.assert_allclose(daily["total"], book, rtol=0, atol=1e-12)
    parts = daily.drop(columns="total").sum(axis=1)
    np.testing.assert_allclose(parts, daily["total"], rtol=0, atol=1e-10)
    assert cumulative["total"].iloc[-1] == pytest.approx((1 + book).prod() - 1, abs=1e-12)
    np.testing.assert_allclose(
        cumulative.drop(columns="total").sum(axis=1), cumulative["total"], rtol=0, atol=1e-10
    )
    # the sample's stocks are priced by sector and by the price-based styles
    assert {"momentum", "beta", "volatility", "reversal"} <= set(daily.columns)
    assert daily[["momentum", "beta"]].abs().sum().gt(0).all()


def test_a_book_before_the_factor_etfs_has_no_time_series_model(trained_db) -> None:
    db, _ = trained_db
    early = workflows.stress_book(db, {"AAPL": 100, "KO": -50}, 1e4, pd.Timestamp("2010-06-30"))
    assert early.models["model"].tolist() == ["characteristics", "statistical"]
    late = workflows.stress_book(db, {"AAPL": 100, "KO": -50}, 1e4, pd.Timestamp("2020-06-30"))
    assert late.models["model"].tolist() == ["characteristics", "time_series", "statistical"]
    assert late.models.at[1, "factors"] == "MTUM, QUAL, SIZE, USMV, VLUE, ^GSPC"
    # the same book, the same day: the models agree on its size of risk within a factor of 2
    vols = late.models["annual_volatility"]
    assert vols.max() < 2 * vols.min()
