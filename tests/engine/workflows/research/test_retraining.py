"""The retraining policy: stored, applied at a session (schedule, triggers, cooldown), each
retrain a challenger judged against the champion; and replayed over the champion's
history, each policy a trial."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pandas as pd
import pytest

from engine import workflows
from engine.data.calendar import sessions_between
from engine.modeling.policies import RetrainPolicy
from engine.workflows.research import retraining
from store.db import StoreError


def trials(db, kind: str) -> int:
    with sqlite3.connect(db) as conn:
        value = conn.execute("SELECT COUNT(*) FROM backtest_trials WHERE kind = ?", (kind,))
        count = value.fetchone()[0]
    conn.close()
    return count


def test_without_a_policy_nothing_retrains_and_a_policy_round_trips(trained_db) -> None:
    db, _ = trained_db
    check = retraining.retrain_if_due(db, pd.Timestamp("2018-09-04"))
    assert check.result is None and check.message.startswith("no retraining policy")
    policy = RetrainPolicy("weekly", 12, on_drift=True)
    retraining.save_retrain_policy(db, policy)
    assert retraining.load_retrain_policy(db) == policy
    retraining.save_retrain_policy(db, None)
    assert retraining.load_retrain_policy(db) is None


def test_a_monthly_policy_retrains_once_in_a_new_month(trained_db) -> None:
    db, champion = trained_db
    last = workflows.trained_through(champion)
    assert retraining.last_training(db) == last
    retraining.save_retrain_policy(db, RetrainPolicy("monthly", 12))
    same_month = last + pd.offsets.BDay(0)
    assert retraining.retrain_if_due(db, same_month).message.startswith("not due (monthly")
    day = pd.Timestamp("2018-08-01")
    check = retraining.retrain_if_due(db, day)
    assert check.reasons == (f"monthly schedule (last {last:%Y-%m-%d})",)
    challenger = check.result.challenger
    config = workflows.TrainConfig.from_dict(challenger.params)
    assert config.as_of == day and config.train_months == 12
    assert config.tickers == workflows.TrainConfig.from_dict(champion.params).tickers
    assert trials(db, "retrain") == 1
    events = workflows.champion_history(db).events
    assert events["run_id"].tolist() == [challenger.run_id]
    assert check.message.startswith("retrained (monthly schedule")
    # the challenger counts as the last training, promoted or kept: not again this month
    assert retraining.last_training(db) == workflows.trained_through(challenger)
    again = retraining.retrain_if_due(db, pd.Timestamp("2018-08-02"))
    assert again.result is None and again.message.startswith("not due")


def test_a_performance_trigger_retrains_but_not_twice_within_the_cooldown(
    trained_db, monkeypatch
) -> None:
    db, champion = trained_db
    last = workflows.trained_through(champion)
    retraining.save_retrain_policy(db, RetrainPolicy("static", on_performance=True))
    standing = {"value": "within"}
    monkeypatch.setattr(
        retraining, "live_report", lambda *a, **k: SimpleNamespace(standing=standing["value"])
    )
    day = sessions_between(last, last + pd.Timedelta(days=60))[30]
    assert retraining.retrain_if_due(db, day).message.startswith("not due (never on a schedule")
    standing["value"] = "below"
    soon = sessions_between(last, last + pd.Timedelta(days=30))[5]
    held = retraining.retrain_if_due(db, soon)
    assert held.result is None and "within 21 sessions: not retrained again yet" in held.message
    monkeypatch.setattr(retraining, "retrain", lambda *a, **k: SimpleNamespace(
        promoted=False, challenger=SimpleNamespace(run_id="c"), reason="worse"
    ))  # fmt: skip
    fired = retraining.retrain_if_due(db, day)
    assert fired.reasons == ("live rank IC below the backtest's interval",)
    assert fired.message.endswith("c kept as a challenger: worse")


def test_a_policy_without_a_champion_is_refused(trained_db) -> None:
    db, _ = trained_db
    retraining.save_retrain_policy(db, RetrainPolicy("monthly"))
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE model_runs SET active = 0")
    conn.close()
    with pytest.raises(StoreError, match="no champion to retrain"):
        retraining.retrain_if_due(db, pd.Timestamp("2018-09-04"))


def test_the_simulation_replays_static_and_each_policy_and_saves_the_study(trained_db) -> None:
    db, champion = trained_db
    policy = RetrainPolicy("quarterly", 12)
    study_id, result = retraining.simulate_retraining(
        db, [policy], start=pd.Timestamp("2016-01-04")
    )
    table = result.table.set_index("policy")
    assert list(table.index) == [RetrainPolicy("static").describe(), policy.describe()]
    assert table["retrains"].tolist()[0] == 1 and table["retrains"].iloc[1] >= 9
    assert result.daily.index.min() >= pd.Timestamp("2016-01-04")
    assert trials(db, "policy") == 2  # each policy replayed is a trial
    settings, saved, daily = workflows.load_study(db, "policy", study_id)
    assert settings["run_id"] == champion.run_id and settings["start"] == "2016-01-04"
    assert saved["policy"].tolist() == list(table.index)
    assert len(daily) == len(result.daily)
