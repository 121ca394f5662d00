"""Ensembles over out-of-sample predictions: rank average, the stacked layer (never fitted
on rows it scores), diversity and the ensemble's gain."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from engine.metrics import daily_ic
from engine.modeling.ensemble_diversity import compute_diversity, compute_ensemble_gain
from engine.modeling.ensembles import (
    StackedEnsemble,
    compute_stacked_score,
    member_scores,
    per_date_ranks,
    rank_average,
)

NAMES, FOLD_DATES, HORIZON = 30, 40, 5


def oos_frame(folds: int = 6, seed: int = 0) -> pd.DataFrame:
    """An out-of-sample frame's outcome columns on a (ticker, date) panel: ``fold`` cuts
    the dates into runs of FOLD_DATES, ``end_date`` is HORIZON dates later (NaT past the
    end), ``ret`` is noise."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2020-01-01", periods=folds * FOLD_DATES)
    index = pd.MultiIndex.from_product(
        [[f"T{i:02d}" for i in range(NAMES)], dates], names=["ticker", "date"]
    )
    position = np.tile(np.arange(len(dates)), NAMES)
    ends = np.append(dates[HORIZON:], [pd.NaT] * HORIZON)[position]
    return pd.DataFrame(
        {"ret": rng.normal(size=len(index)), "fold": position // FOLD_DATES, "end_date": ends},
        index=index,
    )


def noise_members(frame: pd.DataFrame, count: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        rng.normal(size=(len(frame), count)),
        index=frame.index,
        columns=[f"m{i}" for i in range(count)],
    )


def beats_median(values: pd.Series) -> np.ndarray:
    return (per_date_ranks(values.to_frame())[values.name] > 0).to_numpy(dtype=float)


def mean_rank_ic(score: pd.Series, realized: pd.Series, rows: np.ndarray) -> float:
    dates = score.index.get_level_values("date").to_numpy()
    return float(daily_ic(dates[rows], score[rows], realized[rows])["rank_ic"].mean())


def test_member_scores_join_each_members_score_column() -> None:
    frame = oos_frame(folds=1)
    first = frame.assign(score=1.0)
    second = frame.iloc[: len(frame) // 2].assign(score=2.0)
    scores = member_scores({"xgboost": first, "linear": second})
    assert list(scores.columns) == ["xgboost", "linear"]
    assert (scores["xgboost"] == 1.0).all()
    assert scores["linear"].notna().sum() == len(frame) // 2


def test_rank_average_of_identical_members_equals_one_members_ranks() -> None:
    frame = oos_frame(folds=1)
    one = noise_members(frame, 1, seed=1)["m0"]
    average = rank_average(pd.DataFrame({"a": one, "b": one, "c": one}))
    ranks = per_date_ranks(one.to_frame())["m0"]
    np.testing.assert_allclose(average.to_numpy(), ranks.to_numpy())
    first_date = average.xs(frame.index.levels[1][0], level="date")
    # 30 names: centred ranks (r - 0.5) / 30 - 0.5 run from -29/60 to 29/60 in steps of 1/30
    np.testing.assert_allclose(np.sort(first_date), (np.arange(NAMES) + 0.5) / NAMES - 0.5)


def test_rank_average_leaves_a_missing_member_out_of_the_average() -> None:
    frame = oos_frame(folds=1)
    scores = noise_members(frame, 2, seed=2)
    scores.iloc[:5, 1] = np.nan
    ranks = per_date_ranks(scores)
    average = rank_average(scores)
    np.testing.assert_allclose(average.iloc[:5], ranks["m0"].iloc[:5])
    np.testing.assert_allclose(average.iloc[5:], ranks.iloc[5:].mean(axis=1))
    scores.iloc[0] = np.nan
    assert np.isnan(rank_average(scores).iloc[0])


def leaky_panel(folds: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Members that are independent noise; on fold k the label is a noisy copy of member
    k's score (beats the median), a member no earlier fold's label followed. A layer
    fitted on the rows it scores would rank them almost perfectly; one fitted on earlier
    folds has learned other members and has no skill."""
    frame = oos_frame(folds)
    scores = noise_members(frame, folds, seed=3)
    noise = np.random.default_rng(4).normal(scale=0.2, size=len(frame))
    copied = scores.to_numpy()[np.arange(len(frame)), frame["fold"].to_numpy()] + noise
    frame["copied"] = copied
    frame["label"] = beats_median(frame["copied"])
    return scores, frame


def test_the_stacked_layer_is_never_fitted_on_the_rows_it_scores() -> None:
    scores, outcomes = leaky_panel()
    stacked = compute_stacked_score(scores, outcomes)
    scored = stacked.score.notna().to_numpy()
    honest = mean_rank_ic(stacked.score, outcomes["copied"], scored)
    # the same layer fitted on the rows it scores: what a leak would report
    leaked = LogisticRegression().fit(per_date_ranks(scores)[scored], outcomes["label"][scored])
    leaked_score = pd.Series(leaked.decision_function(per_date_ranks(scores)), scores.index)
    assert mean_rank_ic(leaked_score, outcomes["copied"], scored) > 0.3
    fold_fitted = [
        LogisticRegression().fit(per_date_ranks(scores)[rows], outcomes["label"][rows])
        for rows in (outcomes["fold"] == k for k in range(1, 6))
    ]
    in_fold = [
        mean_rank_ic(
            pd.Series(layer.decision_function(per_date_ranks(scores)), scores.index),
            outcomes["copied"],
            (outcomes["fold"] == k).to_numpy(),
        )
        for k, layer in zip(range(1, 6), fold_fitted, strict=True)
    ]
    assert min(in_fold) > 0.9  # the generator would leak: in-fold fits score near 1
    assert abs(honest) < 0.1
    assert stacked.folds_without_layer == (0,)
    assert stacked.rows_without_score == NAMES * FOLD_DATES
    assert not scored[outcomes["fold"].to_numpy() == 0].any()
    for fold, fitted_on in stacked.layer_folds.items():
        assert fitted_on == tuple(range(fold))


def test_each_layer_learns_only_from_outcomes_known_before_its_fold() -> None:
    scores, outcomes = leaky_panel(folds=3)
    model = StackedEnsemble(min_folds=1).fit(
        scores,
        outcomes["label"],
        folds=outcomes["fold"].to_numpy(),
        end_dates=outcomes["end_date"],
    )
    assert model.folds_ == (0, 1, 2)
    assert set(model.layers_) == {1, 2}
    # fold 0's last HORIZON dates end inside fold 1: purged from fold 1's layer
    assert model.layer_rows_[1] == NAMES * (FOLD_DATES - HORIZON)
    assert model.layer_rows_[2] == NAMES * (2 * FOLD_DATES - HORIZON)
    two = StackedEnsemble(min_folds=2).fit(
        scores,
        outcomes["label"],
        folds=outcomes["fold"].to_numpy(),
        end_dates=outcomes["end_date"],
    )
    score = two.ranking_score(scores, folds=outcomes["fold"].to_numpy())
    assert set(two.layers_) == {2}
    assert np.isnan(score[outcomes["fold"].to_numpy() < 2]).all()
    assert np.isfinite(score[outcomes["fold"].to_numpy() == 2]).all()
    with pytest.raises(ValueError, match="min_folds"):
        StackedEnsemble(min_folds=0).fit(
            scores, outcomes["label"], folds=outcomes["fold"], end_dates=outcomes["end_date"]
        )


def test_the_stacked_layer_learns_a_member_that_keeps_its_skill() -> None:
    frame = oos_frame()
    scores = noise_members(frame, 3, seed=5)
    noise = np.random.default_rng(6).normal(size=len(frame))
    frame["ret"] = scores["m1"] + noise
    frame["label"] = beats_median(frame["ret"])
    stacked = compute_stacked_score(scores, frame)
    scored = stacked.score.notna().to_numpy()
    member = mean_rank_ic(scores["m1"], frame["ret"], scored)
    assert mean_rank_ic(stacked.score, frame["ret"], scored) > 0.9 * member > 0.5
    gain = compute_ensemble_gain(stacked.score, scores, frame, n_boot=100)
    assert gain.best_member_by_fold == dict.fromkeys(range(1, 6), "m1")
    assert gain.dates == 5 * FOLD_DATES
    assert gain.best_member_rank_ic.estimate == pytest.approx(member)
    assert gain.gain.estimate > -0.05


def test_identical_members_agree_completely() -> None:
    frame = oos_frame(folds=3)
    one = noise_members(frame, 1, seed=7)["m0"]
    diversity = compute_diversity(pd.DataFrame({"a": one, "b": one}), n_boot=100)
    (pair,) = diversity.pairs
    assert (pair.first, pair.second) == ("a", "b")
    assert pair.rank_correlation.estimate == pytest.approx(1.0)
    assert pair.disagreement.estimate == 0.0
    assert diversity.disagreement.estimate == 0.0
    assert pair.dates == diversity.dates == 3 * FOLD_DATES


def test_independent_members_are_uncorrelated_and_split_half_the_names() -> None:
    frame = oos_frame(folds=5)
    diversity = compute_diversity(noise_members(frame, 3, seed=8), n_boot=200)
    table = diversity.as_frame()
    assert list(table[["first", "second"]].itertuples(index=False, name=None)) == [
        ("m0", "m1"),
        ("m0", "m2"),
        ("m1", "m2"),
    ]
    for pair in diversity.pairs:
        assert abs(pair.rank_correlation.estimate) < 0.05
        assert pair.rank_correlation.contains(0.0)
        assert pair.disagreement.contains(0.5)
    # three members all on one side: 2 of the 8 side patterns (1 - 2 / 8 disagree)
    assert diversity.disagreement.estimate == pytest.approx(0.75, abs=0.03)


def test_on_a_null_panel_the_ensembles_gain_is_not_shown() -> None:
    frame = oos_frame()
    scores = noise_members(frame, 3, seed=9)
    gain = compute_ensemble_gain(rank_average(scores), scores, frame, n_boot=200)
    assert gain.gain.contains(0.0)
    assert gain.ensemble_rank_ic.contains(0.0)
    assert np.isfinite([gain.gain.low, gain.gain.high]).all()
    assert gain.dates == 5 * FOLD_DATES  # fold 0 has no earlier folds to choose from
    assert set(gain.best_member_by_fold) == {1, 2, 3, 4, 5}


def test_the_best_member_is_the_one_known_best_before_each_fold() -> None:
    frame = oos_frame()
    scores = noise_members(frame, 2, seed=10)
    late = (frame["fold"] >= 3).to_numpy()
    # m0 ranks the returns on folds 0-2, m1 on folds 3-5
    frame["ret"] = np.where(late, scores["m1"], scores["m0"]) + np.random.default_rng(11).normal(
        size=len(frame)
    )
    gain = compute_ensemble_gain(rank_average(scores), scores, frame, n_boot=100)
    # before every fold the history favours m0 (its three folds against at most two of
    # m1's), however well m1 ranks fold 3 onwards: hindsight would have picked m1 there
    assert gain.best_member_by_fold == {1: "m0", 2: "m0", 3: "m0", 4: "m0", 5: "m0"}
    assert gain.best_member == "m0"
