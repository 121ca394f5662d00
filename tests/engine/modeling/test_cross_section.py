"""The cross-sectional models are honest: no edge on a null panel moved by a common market,
the planted stock-specific signal recovered nearly as well as its oracle (where a market
timing model of absolute direction is not), and no forecast at t that depends on prices
after t."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.synthetic import make_panel
from engine.features import compute_features
from engine.features.panel import to_wide
from engine.metrics import (
    IC_BLOCK,
    TRADING_DAYS,
    bootstrap_interval,
    daily_ic,
    daily_returns,
    deflated_sharpe,
    ic_summary,
    sharpe,
)
from engine.modeling.evaluation import make_dataset, walk_forward
from engine.modeling.labels import LabelParams, compute_labels
from engine.modeling.learners import LearnerParams, XGBoostLearner
from engine.modeling.model_selection import PurgedWalkForward
from engine.trading.backtest import BacktestConfig, backtest_forecasts
from engine.trading.construction import ConstructionParams
from engine.trading.sizing import SizingParams

INDEX = "^GSPC"
SPLITTER = PurgedWalkForward(train_months=12, test_months=3)
# one thread: XGBoost's OpenMP threads spin against each other on a busy two-core box
FAST = {"n_estimators": 200, "n_jobs": 1}
# How far below the oracle's mean rank IC (the planted signal itself, same rows) a model's
# may fall. Measured on the planted panel below (100 x 750, beta 0.3, oracle 0.386): the
# classifier 0.374 (0.012 below), the ranker 0.374 (0.012 below; 0.021 with XGBoost's
# default top-of-list pairs and NDCG early stopping).
ORACLE_DISTANCE = 0.02
METHODS = ("top_k", "long_short", "hrp")


def split(prices: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """Features of the stocks (context from the whole frame), their prices, the index close."""
    features = compute_features(prices)
    features = features[features.index.get_level_values("ticker") != INDEX]
    index = prices[prices["ticker"] == INDEX].set_index("date")["close"]
    return features, prices[prices["ticker"] != INDEX], index


def run(panel, kind: str) -> pd.DataFrame:
    features, stocks, index = split(panel.prices)
    label_kind = "direction" if kind == "market_timing" else "relative"
    labels = compute_labels(stocks, LabelParams(kind=label_kind), index_close=index)
    data = make_dataset(features, labels)
    return walk_forward(data, SPLITTER, LearnerParams(kind=kind, **FAST)).predictions


def rank_ic(pred: pd.DataFrame, forecast: np.ndarray) -> pd.Series:
    dates = pred.index.get_level_values("date").to_numpy()
    return daily_ic(dates, forecast, pred["ret"].to_numpy())["rank_ic"]


def quantile_spread(pred: pd.DataFrame) -> pd.Series:
    """Per date: mean forward excess of the top score quintile minus the bottom one."""
    quintile = pred.groupby(level="date")["score"].transform(
        lambda s: pd.qcut(s.rank(method="first"), 5, labels=False)
    )
    means = pred["excess"].groupby([pred.index.get_level_values("date"), quintile]).mean()
    return (means.xs(4, level=1) - means.xs(0, level=1)).sort_index()


# --- null panel: a market moves every stock, nothing predicts any stock against the others


@pytest.fixture(scope="module")
def null():
    # seed 12 with 5-date blocks: rank IC 0.016 [0.001, 0.033] (60 rounds at least) and a
    # spread interval that also excluded 0 on seed 11: a model held fixed for a 3-month fold
    # keeps its tilts, and per-fold mean ICs spread +-0.05, wider than 5-date blocks allow.
    # With IC_BLOCK (21) dates per block: rank IC 0.016 [-0.006, 0.034]
    panel = make_panel(60, 900, kind="null", seed=12, market_vol=0.015, index_ticker=INDEX)
    return panel, run(panel, "classifier")


def test_null_panel_has_no_rank_ic_and_no_quantile_spread(null) -> None:
    _, pred = null
    ic = ic_summary(rank_ic(pred, pred["score"].to_numpy()), n_boot=300)["mean"]
    assert ic.contains(0.0), ic
    spread = quantile_spread(pred)
    interval = bootstrap_interval(np.mean, spread.to_numpy(), block=IC_BLOCK, n_boot=300)
    assert interval.contains(0.0), interval
    assert len(spread) > 500


def test_null_panel_trades_to_no_deflated_sharpe(null) -> None:
    panel, pred = null
    wide = to_wide(panel.prices[panel.prices["ticker"] != INDEX])
    results = [
        backtest_forecasts(
            wide,
            pred,
            1.0,
            sizing=SizingParams(max_weight=0.25),
            config=BacktestConfig(),  # default costs: commission, half-spread, slippage
            construction=ConstructionParams(method=method, k=10),
        )
        for method in METHODS
    ]
    assert all(r.costs.to_numpy().sum() > 0 for r in results)
    # the trial count and Sharpe variance record_trial would give for these trials alone
    per_period = [sharpe(daily_returns(r.equity)) / np.sqrt(TRADING_DAYS) for r in results]
    variance = float(np.var(per_period, ddof=1))
    dsr = [deflated_sharpe(daily_returns(r.equity), len(results), variance) for r in results]
    assert max(dsr) < 0.95, dict(zip(METHODS, dsr, strict=True))


# --- planted panel: a stock-specific signal under a market several times louder


@pytest.fixture(scope="module")
def planted():
    panel = make_panel(
        100, 750, kind="planted", seed=5, beta=0.3, market_vol=0.06, index_ticker=INDEX
    )
    truth = panel.truth.set_index(["ticker", "date"])["signal"]
    return panel, truth, {kind: run(panel, kind) for kind in ("classifier", "ranker")}


@pytest.mark.parametrize("kind", ["classifier", "ranker"])
def test_cross_sectional_models_rank_nearly_as_well_as_the_oracle(planted, kind) -> None:
    _, truth, preds = planted
    pred = preds[kind]
    model = rank_ic(pred, pred["score"].to_numpy())
    oracle = rank_ic(pred, truth.reindex(pred.index).to_numpy()).reindex(model.index)
    assert model.mean() > oracle.mean() - ORACLE_DISTANCE, (model.mean(), oracle.mean())
    assert ic_summary(model, n_boot=200)["mean"].low > 0


def test_market_timing_does_not_rank_the_stocks(planted) -> None:
    """Absolute direction is mostly the market's move here, so the market-timing model
    spends its trees on it: it ranks the stocks far worse than the classifier of relative
    labels on the same panel. This is why the cross-sectional classifier is the default."""
    panel, _, preds = planted
    timing = run(panel, "market_timing")
    distinct = timing.groupby(level="date")["score"].nunique()
    classifier = preds["classifier"]
    # a date on which every stock gets the same forecast ranks nothing: its IC counts as 0
    timing_ic = rank_ic(timing, timing["score"].to_numpy()).reindex(distinct.index).fillna(0.0)
    classifier_ic = rank_ic(classifier, classifier["score"].to_numpy()).mean()
    # measured: mean rank IC 0.217 against the classifier's 0.374 (before the booster kept
    # at least 60 rounds, the timing model gave every stock the same forecast on 49% of the
    # dates and ranked at 0.055)
    assert timing_ic.mean() < classifier_ic - 0.1, (timing_ic.mean(), classifier_ic)


# --- poisoning: nothing after t changes a forecast at t


def test_forecasts_at_t_ignore_every_price_after_t() -> None:
    panel = make_panel(
        30, 420, kind="planted", seed=3, beta=0.3, market_vol=0.02, index_ticker=INDEX
    )
    prices = panel.prices
    t = prices["date"].unique()[330]
    truncated = prices[prices["date"] <= t]
    rng = np.random.default_rng(0)
    poisoned = prices.copy()
    after = (poisoned["date"] > t).to_numpy()
    values = ["open", "high", "low", "close", "volume"]
    shuffled = poisoned.loc[after, values].to_numpy()[rng.permutation(after.sum())]
    poisoned.loc[after, values] = shuffled * rng.uniform(0.5, 2.0, (after.sum(), 1))

    features, stocks, index = split(truncated)
    labels = compute_labels(stocks, LabelParams(), index_close=index)
    data = make_dataset(features, labels)
    known = data[data["end_date"] <= t]  # outcomes known by t
    model = XGBoostLearner(LearnerParams(n_estimators=150, n_jobs=1)).fit(
        known, known["label"], known["end_date"]
    )

    def forecast(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame.xs(t, level="date", drop_level=False)
        rows = rows[rows.index.get_level_values("ticker") != INDEX]
        score = model.rank_score(rows)
        return pd.DataFrame(
            {
                "score": score,
                "p": model.predict_proba(rows)[:, 1],
                "rank": pd.Series(score).rank().to_numpy(),
            },
            index=rows.index,
        )

    clean = forecast(compute_features(truncated))
    dirty = forecast(compute_features(poisoned))
    assert len(clean) == 30 and clean["score"].nunique() > 10
    pd.testing.assert_frame_equal(dirty, clean, check_exact=True)
    assert not np.isclose(poisoned.loc[after, "close"], prices.loc[after, "close"]).any()
