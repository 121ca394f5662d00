"""GET /champion and POST /champion/rollback: the champion's history and the retraining
policy in force, and a rollback that goes back one champion or answers 409 when there is
none."""

from __future__ import annotations

from engine import workflows
from tests.engine.workflows.modeling.test_champions import CHALLENGER, rigged


def test_the_champion_is_read_and_rolled_back_once(client, trained_db, monkeypatch) -> None:
    db, champion = trained_db, workflows.active_run(trained_db)
    assert client.get("/champion").json() == {
        "active": champion.run_id,
        "previous": None,
        "kept": [],
        "events": [],
        "policy": None,
    }
    workflows.save_retrain_policy(db, workflows.RetrainPolicy("monthly", 12, on_drift=True))
    assert client.get("/champion").json()["policy"] == {
        "cadence": "monthly",
        "window_months": 12,
        "on_drift": True,
        "on_performance": False,
        "text": "monthly, on drift; 12-month window",
    }
    assert client.post("/champion/rollback").status_code == 409
    rigged(monkeypatch, champion.run_id, -1.0)  # any challenger beats a wrong champion
    promoted = workflows.retrain(db, CHALLENGER)
    assert promoted.promoted
    body = client.get("/champion").json()
    assert body["active"] == promoted.challenger.run_id and body["previous"] == champion.run_id
    assert [e["kind"] for e in body["events"]] == ["promoted"]
    assert client.post("/champion/rollback").json() == {"active": champion.run_id}
    assert workflows.active_run(db).run_id == champion.run_id
    answer = client.post("/champion/rollback")
    assert answer.status_code == 409 and "no previous champion" in answer.json()["detail"]
