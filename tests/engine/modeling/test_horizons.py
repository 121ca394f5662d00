"""Several horizons: labels side by side, a score's IC decay, fused scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.calendar import sessions_between
from engine.modeling.ensembles import per_date_ranks
from engine.modeling.horizons import compute_ic_decay, fuse_horizons, labels_by_horizon

NAMES, SESSIONS = 40, 260


def random_walk_prices(seed: int = 0) -> pd.DataFrame:
    """Long OHLCV rows of NAMES independent random walks on SESSIONS NYSE sessions."""
    rng = np.random.default_rng(seed)
    dates = sessions_between(pd.Timestamp("2021-01-04"), pd.Timestamp("2022-06-30"))[:SESSIONS]
    close = 100 * np.exp(np.cumsum(rng.normal(scale=0.02, size=(SESSIONS, NAMES)), axis=0))
    frames = [
        pd.DataFrame(
            {
                "ticker": f"T{i:02d}",
                "date": dates,
                "open": close[:, i],
                "high": close[:, i] * 1.01,
                "low": close[:, i] * 0.99,
                "close": close[:, i],
                "volume": 1e6,
            }
        )
        for i in range(NAMES)
    ]
    return pd.concat(frames, ignore_index=True)


def test_labels_by_horizon_sit_side_by_side_and_end_where_the_prices_do() -> None:
    prices = random_walk_prices()
    labels = labels_by_horizon(prices, (1, 5, 20))
    assert list(labels.columns) == [
        f"{field}_{h}" for h in (1, 5, 20) for field in ("label", "ret", "target", "end_date")
    ]
    one = labels.xs("T03", level="ticker")
    close = prices[prices["ticker"] == "T03"].set_index("date")["close"]
    np.testing.assert_allclose(one["ret_5"].iloc[:-5], (close.shift(-5) / close - 1).iloc[:-5])
    assert one["end_date_20"].iloc[0] == close.index[20]
    # an outcome past the last price is unknown, never a guess
    assert one["ret_20"].iloc[-20:].isna().all()
    assert one["ret_20"].iloc[:-20].notna().all()


def test_the_ic_decay_of_a_five_session_signal_peaks_at_five_sessions() -> None:
    prices = random_walk_prices(seed=1)
    forward = labels_by_horizon(prices, (5,))["ret_5"]
    noise = np.random.default_rng(2).normal(scale=forward.std(), size=len(forward))
    score = (forward + noise).dropna()
    decay = compute_ic_decay(score, prices, n_boot=100)
    table = decay.as_frame()
    assert list(table["horizon"]) == list(range(1, 21))
    assert decay.peak_horizon == 5
    # the 5-session return holds the 1-session return: IC rises to h = 5, then decays
    assert (table["rank_ic"].diff().iloc[1:5] > 0).all()
    assert (table["rank_ic"].diff().iloc[5:] < 0.02).all()
    assert table.loc[table["horizon"] == 5, "low"].item() > 0.3
    assert table.loc[table["horizon"] == 20, "rank_ic"].item() < 0.6 * table["rank_ic"].max()


def test_a_score_that_knows_nothing_has_no_ic_at_any_horizon() -> None:
    prices = random_walk_prices(seed=3)
    index = labels_by_horizon(prices, (1,)).index
    score = pd.Series(np.random.default_rng(4).normal(size=len(index)), index=index)
    decay = compute_ic_decay(score, prices, horizons=(1, 5, 20), n_boot=200)
    assert [p.horizon for p in decay.points] == [1, 5, 20]
    for point in decay.points:
        assert point.rank_ic.contains(0.0), point


def oos_by_horizon(prices: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """Out-of-sample frames of two horizons' models on folds of 50 sessions: the 1-session
    model's score is noise, the 5-session model's a noisy copy of its return."""
    labels = labels_by_horizon(prices, (1, 5))
    rng = np.random.default_rng(5)
    dates = labels.index.get_level_values("date")
    fold = dates.map({d: i // 50 for i, d in enumerate(dates.unique().sort_values())})
    frames = {}
    for horizon in (1, 5):
        frame = pd.DataFrame(
            {
                "label": labels[f"label_{horizon}"],
                "ret": labels[f"ret_{horizon}"],
                "end_date": labels[f"end_date_{horizon}"],
                "fold": np.asarray(fold),
            }
        ).dropna(subset=["label"])
        frame["score"] = rng.normal(size=len(frame))
        frames[horizon] = frame
    frames[5]["score"] += frames[5]["ret"] / frames[5]["ret"].std()
    return frames


def test_fused_scores_rank_average_or_stack_on_earlier_folds() -> None:
    frames = oos_by_horizon(random_walk_prices(seed=6))
    average = fuse_horizons(frames)
    assert average.horizons == (1, 5)
    assert average.stacked is None
    ranks = per_date_ranks(pd.concat({h: f["score"] for h, f in frames.items()}, axis=1))
    np.testing.assert_allclose(average.score, ranks.mean(axis=1))
    stacked = fuse_horizons(frames, method="stacked", target_horizon=5)
    assert stacked.stacked.folds_without_layer == (0,)
    assert stacked.score.index.equals(frames[5].index)
    later = frames[5]["fold"] > 0
    assert stacked.score[later].notna().all()
    assert stacked.score[~later].isna().all()
    # the layer learned that the 5-session model carries the 5-session return
    assert stacked.score[later].corr(frames[5]["score"][later], method="spearman") > 0.9
    with pytest.raises(ValueError, match="fusion method"):
        fuse_horizons(frames, method="mean")
    with pytest.raises(ValueError, match="target horizon 20"):
        fuse_horizons(frames, method="stacked", target_horizon=20)


def test_the_ic_decay_reads_no_price_after_each_horizons_end() -> None:
    prices = random_walk_prices(seed=7)
    dates = np.sort(prices["date"].unique())
    index = labels_by_horizon(prices, (1,)).index
    score = pd.Series(np.random.default_rng(8).normal(size=len(index)), index=index)
    early = score[score.index.get_level_values("date") <= dates[150]]
    poisoned = prices.copy()
    later = poisoned["date"] > dates[170]  # 20 sessions after the last scored date
    poisoned.loc[later, ["open", "high", "low", "close"]] *= np.random.default_rng(9).uniform(
        0.5, 2.0, size=(later.sum(), 1)
    )
    clean = compute_ic_decay(early, prices, horizons=(1, 20), n_boot=50).as_frame()
    dirty = compute_ic_decay(early, poisoned, horizons=(1, 20), n_boot=50).as_frame()
    pd.testing.assert_frame_equal(clean, dirty)
