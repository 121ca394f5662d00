"""Retraining: a challenger replaces the champion only when it is not worse beyond the
interval over the same recent sessions, every comparison is a trial, and a rollback
restores the previous champion's forecasts exactly."""

from __future__ import annotations

import dataclasses
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine import workflows
from engine.modeling.challenge import judge_challenger
from engine.modeling.learners import LearnerParams
from engine.workflows.modeling import champions
from store.champions import ChampionRepository
from store.db import StoreError, open_db
from tests.builders import SMALL_TRAIN

SESSIONS = pd.bdate_range("2020-01-01", periods=300)
# the same dates and folds as the template's run, another model: it forecasts otherwise
CHALLENGER = dataclasses.replace(SMALL_TRAIN, learner=LearnerParams(n_estimators=40))
AS_OF = pd.Timestamp("2019-06-28")  # after both runs' trained-through dates


def daily(mean: float, seed: int, dates: pd.DatetimeIndex = SESSIONS) -> pd.Series:
    noise = np.random.default_rng(seed).normal(0.0, 0.1, len(dates))
    return pd.Series(mean + noise, index=dates)


def judge(challenger: pd.Series, champion: pd.Series, **options):
    return judge_challenger(challenger, champion, challenger_id="new", champion_id="old", **options)


def test_a_challenger_worse_beyond_the_interval_is_not_promoted() -> None:
    verdict = judge(daily(-0.05, 1), daily(0.05, 2))
    assert verdict.difference.high < 0 and not verdict.promote
    assert verdict.reason.startswith("worse than the champion beyond the interval")


def test_a_challenger_within_the_interval_or_better_is_promoted() -> None:
    same = judge(daily(0.05, 1), daily(0.05, 2))
    assert same.difference.low < 0 < same.difference.high and same.promote
    better = judge(daily(0.08, 1), daily(0.02, 2))
    assert better.promote and better.difference.estimate > 0
    assert "not worse" in better.reason


def test_only_the_last_shared_sessions_are_compared() -> None:
    # the challenger is worse only on sessions the champion never saw, and long ago
    challenger = pd.concat([daily(-0.5, 1, SESSIONS[:100]), daily(0.05, 3, SESSIONS[100:])])
    champion = daily(0.05, 2, SESSIONS[50:])
    verdict = judge(challenger, champion, window_sessions=126)
    assert verdict.sessions == 126 and verdict.promote
    assert verdict.start == SESSIONS[-126] and verdict.end == SESSIONS[-1]
    assert list(verdict.daily.columns) == ["challenger", "champion", "difference"]


def test_runs_that_share_no_session_are_not_compared() -> None:
    verdict = judge(daily(0.5, 1, SESSIONS[:100]), daily(0.0, 2, SESSIONS[100:]))
    assert not verdict.promote and verdict.sessions == 0
    assert "share no out-of-sample session" in verdict.reason


def retrain_trials(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        count = conn.execute("SELECT COUNT(*) FROM backtest_trials WHERE kind = 'retrain'")
        value = count.fetchone()[0]
    conn.close()
    return value


def rigged(monkeypatch: pytest.MonkeyPatch, run_id: str, sign: float) -> None:
    """The run's out-of-sample score replaced by ``sign`` times the realized excess return:
    a perfect (1) or perfectly wrong (-1) ranking on every date."""
    load = champions.load_oos_predictions

    def predictions(db_path, wanted=None):
        frame, record = load(db_path, wanted)
        if record.run_id == run_id:
            frame = frame.assign(score=sign * frame["ret"].groupby(level="date").rank())
        return frame, record

    monkeypatch.setattr(champions, "load_oos_predictions", predictions)


def test_a_worse_challenger_stays_a_challenger_with_its_reason(trained_db, monkeypatch) -> None:
    db, champion = trained_db
    rigged(monkeypatch, champion.run_id, 1.0)  # no challenger can match a perfect champion
    result = workflows.retrain(db, CHALLENGER)
    assert not result.promoted and result.champion_id == champion.run_id
    assert result.verdict.difference.high < 0 and result.verdict.sessions == 126
    assert workflows.active_run(db).run_id == champion.run_id
    history = workflows.champion_history(db)
    assert history.events[["kind", "run_id", "previous_run_id"]].values.tolist() == [
        ["kept", result.challenger.run_id, champion.run_id]
    ]
    assert history.events["reason"].iloc[0] == result.reason
    assert result.reason.startswith("worse than the champion beyond the interval")
    assert history.kept == ()  # a challenger kept changes no champion
    with pytest.raises(StoreError, match="no previous champion"):
        workflows.rollback(db)


def test_a_rollback_restores_the_previous_champions_forecasts_exactly(
    trained_db, monkeypatch
) -> None:
    db, champion = trained_db
    tickers = list(SMALL_TRAIN.tickers)
    before = workflows.forecast(db, workflows.build_snapshot(db, tickers, AS_OF))
    rigged(monkeypatch, champion.run_id, -1.0)  # any challenger beats a wrong champion
    trials = retrain_trials(db)
    result = workflows.retrain(db, CHALLENGER)
    assert result.promoted and retrain_trials(db) == trials + 1
    assert workflows.active_run(db).run_id == result.challenger.run_id
    promoted = workflows.forecast(db, workflows.build_snapshot(db, tickers, AS_OF))
    figures = promoted.drop(columns="run_id")  # the challenger forecasts otherwise
    assert not figures.equals(before.drop(columns="run_id"))
    history = workflows.champion_history(db)
    assert history.kept == (champion.run_id, result.challenger.run_id)

    assert workflows.rollback(db) == champion.run_id
    after = workflows.forecast(db, workflows.build_snapshot(db, tickers, AS_OF))
    pd.testing.assert_frame_equal(after, before, check_exact=True)
    history = workflows.champion_history(db)
    assert history.events["kind"].tolist() == ["promoted", "rollback"]
    assert history.kept == (champion.run_id,) and history.previous is None
    with pytest.raises(StoreError, match="no previous champion"):
        workflows.rollback(db)


def test_every_retrain_is_a_trial_and_the_first_becomes_champion(trained_db) -> None:
    db, champion = trained_db
    with sqlite3.connect(db) as conn:  # no champion yet
        conn.execute("UPDATE model_runs SET active = 0")
    conn.close()
    first = workflows.retrain(db, CHALLENGER)
    assert first.promoted and first.verdict is None and first.previous_champion_id is None
    assert retrain_trials(db) == 1  # a trial even with nothing to compare with
    second = workflows.retrain(db, CHALLENGER)  # the same settings: the same figures
    assert second.verdict.difference.estimate == 0 and second.promoted
    assert retrain_trials(db) == 2
    assert workflows.champion_history(db).kept == (
        first.challenger.run_id,
        second.challenger.run_id,
    )


def test_rollback_is_refused_without_a_champion_or_when_another_run_is_active(
    trained_db, monkeypatch
) -> None:
    db, champion = trained_db
    with pytest.raises(StoreError, match="no previous champion to roll back to: no champion"):
        workflows.rollback(db)
    rigged(monkeypatch, champion.run_id, -1.0)
    result = workflows.retrain(db, CHALLENGER)
    assert result.promoted
    workflows.activate_run(db, champion.run_id)  # by hand, outside the manager
    with pytest.raises(StoreError, match="made active outside the retraining manager"):
        workflows.rollback(db)
    assert workflows.active_run(db).run_id == champion.run_id


def test_the_last_three_champions_are_kept() -> None:
    events = pd.DataFrame(
        [
            ("promoted", "b", "a"),
            ("promoted", "c", "b"),
            ("kept", "x", "c"),
            ("promoted", "d", "c"),
            ("rollback", "c", "d"),
            ("promoted", "e", "c"),
        ],
        columns=["kind", "run_id", "previous_run_id"],
    )
    assert champions._kept(events.iloc[:4]) == ("b", "c", "d")
    assert champions._kept(events.iloc[:5]) == ("b", "c")
    assert champions._kept(events) == ("b", "c", "e")


def test_the_store_keeps_each_decision_in_order(db_path: Path) -> None:
    with closing(open_db(db_path)) as db:
        repository = ChampionRepository(db)
        repository.record("promoted", "a", None, "first")
        repository.record("kept", "b", "a", "worse")
        with pytest.raises(StoreError, match="not 'demoted'"):
            repository.record("demoted", "a", None, "no such kind")
        events = repository.history()
    assert events[["kind", "run_id", "reason"]].values.tolist() == [
        ["promoted", "a", "first"],
        ["kept", "b", "worse"],
    ]
    assert events["id"].is_monotonic_increasing and pd.isna(events["previous_run_id"][0])
