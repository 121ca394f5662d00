"""Meta-labeling: the meta-label, the bet size, a secondary fitted only on earlier calls, and
a report that finds nothing on a null, a regime where there is one, and no leak."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_fscore_support
from sklearn.neighbors import KNeighborsClassifier

from engine.data.synthetic import make_panel
from engine.modeling.labels import LabelParams, triple_barrier
from engine.modeling.meta_labels import (
    META_COLUMNS,
    bet_size,
    f1,
    meta_label_report,
    meta_labels,
    precision,
    recall,
    strategy_returns,
    walk_forward_meta_labels,
)
from engine.modeling.sample_weights import SampleWeightParams

HORIZON = 10


def calls_panel(
    seed: int, *, drift: float = 0.0, n_tickers: int = 20, n_dates: int = 750
) -> pd.DataFrame:
    """A primary's out-of-sample calls over a panel of log random walks with a market factor.

    Each row has features known at its date (``past_5``: the last 5 sessions' return,
    ``noise``, ``regime``: 0 or 1, persistent spells of about 40 sessions), the primary's
    ``score`` (noise: it goes long where ``score > 0``) and the outcome over the next
    ``HORIZON`` sessions (``ret``, ``label`` = ret > 0, ``end_date``). With ``drift``, every
    stock drifts up by ``drift`` a session in regime 1 and down in regime 0, so the
    primary's longs are right mostly in regime 1; without it nothing predicts anything.
    """
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range("2019-01-01", periods=n_dates + HORIZON)
    regime = np.cumsum(rng.random(len(sessions)) < 1 / 40) % 2
    daily = (  # row s: the return of session s + 1, in the regime of session s
        drift * (2 * regime[:, None] - 1)
        - (0.01**2 + 0.02**2) / 2  # the arithmetic return has mean 0 (with no drift)
        + 0.01 * rng.standard_normal((len(sessions), 1))
        + 0.02 * rng.standard_normal((len(sessions), n_tickers))
    )
    log_price = np.vstack([np.zeros((1, n_tickers)), np.cumsum(daily, axis=0)])
    rows = np.arange(n_dates)
    forward = log_price[rows + HORIZON] - log_price[rows]
    past = log_price[rows] - log_price[np.maximum(rows - 5, 0)]
    index = pd.MultiIndex.from_product(
        [[f"T{i:02d}" for i in range(n_tickers)], sessions[:n_dates]], names=["ticker", "date"]
    )

    def by_ticker(grid: np.ndarray) -> np.ndarray:  # (date, ticker) grid -> the index's order
        return np.asarray(grid).T.ravel()

    frame = pd.DataFrame(
        {
            "past_5": by_ticker(past),
            "noise": rng.standard_normal(index.size),
            "regime": np.tile(regime[:n_dates], n_tickers),
            "score": rng.standard_normal(index.size),
            "ret": by_ticker(np.expm1(forward)),
            "label": by_ticker(forward > 0).astype(float),
            "end_date": np.tile(sessions[HORIZON : n_dates + HORIZON].to_numpy(), n_tickers),
        },
        index=index,
    )
    return frame.sort_index(level=["date", "ticker"])


FEATURES = ["past_5", "noise", "regime"]


def run(frame: pd.DataFrame, **options) -> pd.DataFrame:
    side = (frame["score"] > 0).astype(int)
    return walk_forward_meta_labels(frame, side, frame[FEATURES], **options)


def test_the_meta_label_is_whether_a_long_call_was_right() -> None:
    assert meta_labels([1, 1, 0, 1], [1.0, 0.0, 1.0, np.nan]) == pytest.approx(
        [1.0, 0.0, np.nan, np.nan], nan_ok=True
    )
    with pytest.raises(ValueError, match="long"):
        meta_labels([-1, 1], [1.0, 0.0])


def test_on_triple_barrier_labels_the_meta_label_of_a_long_is_its_label() -> None:
    labels = triple_barrier(make_panel(3, 120, seed=4).prices, LabelParams(kind="triple_barrier"))
    side = (np.arange(len(labels)) % 2).astype(int)
    meta = meta_labels(side, labels["label"])
    longs = (side == 1) & labels["label"].notna().to_numpy()
    assert np.array_equal(meta[longs], labels["label"].to_numpy()[longs])
    assert np.isnan(meta[~longs]).all()
    # a take-profit touched first is a right call
    assert (meta[longs & (labels["barrier"] == "take_profit").to_numpy()] == 1.0).all()


def test_bet_size_follows_lopez_de_prado_and_skips_at_or_below_even_odds() -> None:
    p = np.array([0.0, 0.3, 0.5, 0.9, 1.0, np.nan])
    expected_09 = 2 * stats.norm.cdf(0.4 / np.sqrt(0.09)) - 1  # 0.8176
    assert bet_size(p) == pytest.approx([0, 0, 0, expected_09, 1, np.nan], nan_ok=True)
    assert np.all(np.diff(bet_size(np.linspace(0.5, 1, 11))) > 0)


def test_precision_recall_and_f1_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    right, take = rng.integers(0, 2, 200), rng.integers(0, 2, 200).astype(bool)
    expected = precision_recall_fscore_support(right, take, average="binary")[:3]
    assert (precision(right, take), recall(right, take), f1(right, take)) == pytest.approx(expected)
    assert np.isnan(precision(right, np.zeros(200, bool)))  # nothing taken: undefined


def test_each_dates_capital_is_split_over_the_primarys_calls_after_costs() -> None:
    index = pd.MultiIndex.from_tuples(
        [("A", "2024-01-02"), ("B", "2024-01-02"), ("A", "2024-01-03")], names=["ticker", "date"]
    )
    meta = pd.DataFrame({"ret": [0.04, -0.02, 0.01], "size": [0.5, 0.0, 1.0]}, index=index)
    returns = strategy_returns(meta, cost_bps=10.0)
    assert returns["primary"].tolist() == pytest.approx([(0.039 - 0.021) / 2, 0.009])
    assert returns["sized"].tolist() == pytest.approx([0.5 * 0.039 / 2, 0.009])


def test_on_null_panels_nothing_is_found() -> None:
    # Before costs the no-skill Sharpe is exactly 0 (the generator's returns have mean 0).
    # Over seeds 0-19 the fold-resampled Sharpe intervals left out 0 on 4 (primary) and 5
    # (sized) of 20, wider than the nominal 1 of 20: with nine folds the interval is
    # short; hence 3 of the 4 seeds here, not all (seed 2's market fell all along).
    covered = []
    for seed in range(4):
        meta = run(calls_panel(seed))
        report = meta_label_report(meta, horizon=HORIZON, cost_bps=0.0)
        assert report.precision.contains(report.base_rate)
        covered.append(report.sized_sharpe.contains(0.0) and report.primary_sharpe.contains(0.0))
        after_costs = meta_label_report(meta, horizon=HORIZON)
        assert after_costs.sized_sharpe.estimate < report.sized_sharpe.estimate
    assert sum(covered) >= 3


def test_a_regime_where_the_primary_is_right_is_learnt_and_the_other_skipped() -> None:
    frame = calls_panel(5, drift=0.002)
    meta = run(frame)
    regime = frame["regime"].reindex(meta.index)
    skipped = ~meta["take"]
    assert skipped[regime == 0].mean() > 0.9
    assert skipped[regime == 1].mean() < 0.1
    report = meta_label_report(meta, horizon=HORIZON)
    assert report.precision.above(report.base_rate)
    assert report.sized_sharpe.estimate > report.primary_sharpe.estimate + 0.5
    assert report.sized_sharpe.above(0.0)


def test_the_secondary_never_scores_a_call_it_was_fitted_on() -> None:
    # meta-labels are coin flips and the features are noise: a 1-nearest-neighbour
    # secondary that had seen a call would take it exactly when it was right
    frame = calls_panel(1).assign(label=lambda f: (f["noise"] > 0).astype(float))
    frame["noise"] = np.random.default_rng(9).standard_normal(len(frame))
    side = np.ones(len(frame), dtype=int)
    leaky = KNeighborsClassifier(n_neighbors=1)
    X = frame[["noise", "score"]]
    assert precision(frame["label"], leaky.fit(X, frame["label"]).predict(X)) == 1.0
    meta = walk_forward_meta_labels(frame, side, frame[["noise"]], secondary=leaky)
    report = meta_label_report(meta, horizon=HORIZON)
    assert report.precision.contains(report.base_rate)
    assert report.precision.high < 0.6
    dates = meta.index.get_level_values("date")
    assert (meta["trained_through"] < dates).all()
    assert meta.columns.tolist() == list(META_COLUMNS)


def test_a_fold_never_changes_when_later_calls_change() -> None:
    frame = calls_panel(3, drift=0.001)
    weights = SampleWeightParams(decay=0.5)
    meta = run(frame, weights=weights)
    first = meta[meta["fold"] == meta["fold"].min()]
    last_date = first.index.get_level_values("date").max()
    later = frame.index.get_level_values("date") > last_date
    poisoned = frame.copy()
    poisoned.loc[later, ["label", "regime", "score"]] = poisoned.loc[
        later, ["label", "regime", "score"]
    ].to_numpy()[::-1]
    again = run(poisoned, weights=weights)
    assert again.loc[first.index, "p_take"].to_numpy() == pytest.approx(first["p_take"])


def test_fit_weights_reach_the_secondary() -> None:
    frame = calls_panel(3, drift=0.001)
    plain = run(frame)
    weighted = run(frame, weights=SampleWeightParams(decay=-0.5))
    assert not np.allclose(plain["p_take"], weighted["p_take"], atol=1e-4)
    bare = run(frame, secondary=LogisticRegression(), weights=SampleWeightParams(decay=-0.5))
    assert np.isfinite(bare["p_take"]).all()
