"""Webhook delivery never follows a redirect past the validated URL: a 3xx is a failed
delivery whose reason names the status, never the webhook URL or the redirect's target
(whose query may carry a secret). Every endpoint is local (127.0.0.1)."""

from __future__ import annotations

from contextlib import closing

import pytest

from engine.alerts import deliver
from engine.workflows.platform.alerts import training_failed_alert
from store.db import open_db
from tests.alert_servers import settings, webhook_server

SECRET = "sk-redirect-secret-4242"


def deliveries(db_path) -> list[tuple]:
    with closing(open_db(db_path)) as db:
        return db.execute(
            "SELECT channel, status, attempts, reason FROM alert_deliveries ORDER BY channel"
        ).fetchall()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_url_is_not_followed(db_path, status) -> None:
    with webhook_server() as target:
        elsewhere = target.url.replace("/hook", f"/collect?token={SECRET}&user=me")
        with webhook_server([status] * 5, location=elsewhere) as hook:
            alerts = settings(slack_webhook=hook.url)
            training_failed_alert(db_path, "run7", "ValueError: boom", alerts).join(15)
        assert len(hook.received) == 1  # not retried: a retry would get the same answer
        assert target.received == []  # the redirect's target was never asked
    ((channel, outcome, attempts, reason),) = deliveries(db_path)
    assert (channel, outcome, attempts) == ("slack", "failed", 1)
    assert reason.startswith(f"HTTP {status} ") and "redirect" in reason
    assert "not followed" in reason
    for hidden in (SECRET, "token", "collect", hook.url, target.url, "127.0.0.1"):
        assert hidden not in reason


def test_a_redirect_to_another_host_fails_on_every_webhook_channel() -> None:
    with webhook_server() as target:
        other_host = target.url.replace("127.0.0.1", "localhost") + f"?sig={SECRET}"
        with (
            webhook_server([302], location=other_host) as slack,
            webhook_server([302], location=other_host) as discord,
        ):
            alerts = settings(slack_webhook=slack.url, discord_webhook=discord.url)
            results = [deliver(c, "Title", "body", alerts) for c in ("slack", "discord")]
        assert [len(slack.received), len(discord.received), len(target.received)] == [1, 1, 0]
    assert [(r.channel, r.status, r.attempts) for r in results] == [
        ("slack", "failed", 1),
        ("discord", "failed", 1),
    ]
    assert all(r.reason.startswith("HTTP 302 Found") for r in results)
    assert not any(SECRET in r.reason or "localhost" in r.reason for r in results)


def test_a_webhook_that_answers_itself_is_still_delivered() -> None:
    with webhook_server([200]) as hook:
        result = deliver("discord", "Title", "body", settings(discord_webhook=hook.url))
    assert (result.status, result.attempts, result.reason) == ("sent", 1, "")
    assert hook.received == [("/hook", {"content": "**Title**\nbody"})]
