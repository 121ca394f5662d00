"""Alerts: the exact payloads Slack, Discord and an SMTP server receive, one delivery per
event id (reruns, racing threads and processes), bounded retries, settings refused with
clear messages that never show a secret. Every endpoint is local (127.0.0.1)."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from engine import workflows
from engine.alerts import (
    AlertSettingsError,
    RetryPolicy,
    discord_payload,
    parse_alert_settings,
    slack_payload,
)
from engine.alerts.channels import DISCORD_LIMIT, SLACK_LIMIT
from engine.modeling.training import TrainConfig
from engine.workflows.platform.alerts import drift_alert, guardrail_alert, training_failed_alert
from store.db import open_db
from store.models import ModelRunRepository
from tests.alert_servers import (
    FAST,
    free_port,
    settings,
    silent_port,
    smtp_server,
    smtp_settings,
    wait_for,
    webhook_server,
)

ROOT = Path(__file__).resolve().parents[4]


def rows(db_path) -> list[tuple]:
    with closing(open_db(db_path)) as db:
        return db.execute(
            "SELECT a.event_id, a.kind, d.channel, d.status, d.attempts, d.reason FROM alerts a "
            "LEFT JOIN alert_deliveries d USING (event_id) ORDER BY a.event_id, d.channel"
        ).fetchall()


def test_slack_and_discord_receive_their_exact_json_payloads(db_path) -> None:
    with webhook_server() as slack, webhook_server() as discord:
        alerts = settings(slack_webhook=slack.url, discord_webhook=discord.url)
        dispatch = workflows.raise_alert(
            db_path,
            "gate_change",
            "gate:run1:2024-01-02",
            "Gate: no-go",
            "IC fell.",
            settings=alerts,
        )
        assert dispatch.claimed
        dispatch.join(10)
    assert slack.received == [("/hook", {"text": "*Gate: no-go*\nIC fell."})]
    assert discord.received == [("/hook", {"content": "**Gate: no-go**\nIC fell."})]
    assert slack.content_types == ["application/json"]
    assert rows(db_path) == [
        ("gate:run1:2024-01-02", "gate_change", "discord", "sent", 1, ""),
        ("gate:run1:2024-01-02", "gate_change", "slack", "sent", 1, ""),
    ]
    log = workflows.load_alerts(db_path)
    assert log.loc[0, ["kind", "channels", "status", "attempts"]].tolist() == [
        "gate_change", "discord, slack", "sent", 1,
    ]  # fmt: skip


def test_an_smtp_server_receives_from_to_subject_and_body(db_path) -> None:
    with smtp_server() as (port, messages):
        alerts = settings(smtp=smtp_settings(port))
        body = "Momentum and breadth recovered.\nSecond line."
        workflows.raise_alert(
            db_path, "reentry_met", "reentry:2024-03-01", "Re-entry met", body, settings=alerts
        ).join(10)
        assert len(messages) == 1
    mail_from, recipients, message = messages[0]
    assert mail_from == "bench@example.com"
    assert recipients == ["ops@example.com", "me@example.org"]
    assert message["From"] == "bench@example.com"
    assert message["To"] == "ops@example.com, me@example.org"
    assert message["Subject"] == "[workbench] Re-entry met"
    assert message.get_content().replace("\r\n", "\n").strip() == body
    assert rows(db_path)[0][2:5] == ("email", "sent", 1)


def test_starttls_asked_of_a_server_without_it_fails_rather_than_send_in_clear(db_path) -> None:
    with smtp_server() as (port, messages):
        alerts = settings(smtp=smtp_settings(port, starttls=True))
        workflows.raise_alert(db_path, "gate_change", "gate:tls", "t", "b", settings=alerts).join(
            10
        )
        assert messages == []
    assert rows(db_path)[0][3:5] == ("failed", 3)
    assert "STARTTLS" in rows(db_path)[0][5]


def test_one_alert_per_event_id_across_reruns(db_path) -> None:
    with webhook_server() as hook:
        alerts = settings(slack_webhook=hook.url)
        first = guardrail_alert(
            db_path, "2024-01-02", "daily loss limit: -2.5% today", False, alerts
        )
        first.join(10)
        again = guardrail_alert(
            db_path, "2024-01-02", "daily loss limit: -2.5% today", False, alerts
        )
        assert first.claimed and not again.claimed and "already raised" in again.message
        assert again.threads == ()
    assert len(hook.received) == 1
    assert hook.received[0][1]["text"].startswith("*Paper guardrail on 2024-01-02: daily loss")


def test_racing_threads_deliver_once(db_path) -> None:
    workflows.load_alerts(db_path)  # the store exists before the race
    with webhook_server() as hook:
        alerts = settings(slack_webhook=hook.url)
        barrier, results = threading.Barrier(6, timeout=10), []

        def race() -> None:
            barrier.wait()
            results.append(
                workflows.raise_alert(db_path, "gate_change", "race", "t", "b", settings=alerts)
            )

        threads = [threading.Thread(target=race) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(20)
        for result in results:
            result.join(10)
    assert sorted(r.claimed for r in results) == [False] * 5 + [True]
    assert len(hook.received) == 1


RACER = """
import os, sys, time
from pathlib import Path
from engine import workflows
from engine.alerts import AlertSettings, RetryPolicy
db, url, gate, me = sys.argv[1:5]
Path(gate, me).touch()
deadline = time.monotonic() + 60
while len(os.listdir(gate)) < 2 and time.monotonic() < deadline:
    time.sleep(0.01)
policy = RetryPolicy(attempts=1, timeout_s=5)
dispatch = workflows.raise_alert(
    db, "reentry_met", "reentry:race", "t", "b",
    settings=AlertSettings(slack_webhook=url, policy=policy),
)
dispatch.join(10)
print(dispatch.claimed)
"""


def test_racing_processes_deliver_once(db_path, tmp_path) -> None:
    workflows.load_alerts(db_path)
    gate = tmp_path / "gate"
    gate.mkdir()
    with webhook_server() as hook:
        racers = [
            subprocess.Popen(
                [sys.executable, "-c", RACER, str(db_path), hook.url, str(gate), str(i)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            for i in range(2)
        ]
        outputs = [racer.communicate(timeout=120)[0].split() for racer in racers]
    assert sorted(o[-1] for o in outputs) == ["False", "True"]
    assert len(hook.received) == 1


def test_a_server_failing_twice_is_retried_with_backoff_and_sent(db_path) -> None:
    waits = []
    policy = dataclasses.replace(FAST, sleep=waits.append, backoff_s=0.5, cap_s=0.75)
    with webhook_server([500, 503]) as hook:
        alerts = settings(discord_webhook=hook.url, policy=policy)
        drift_alert(db_path, "run7", pd.Timestamp("2024-05-06"), ("PSI above 0.2",), alerts).join(
            10
        )
    assert len(hook.received) == 3
    assert waits == [0.5, 0.75]  # 0.5 x 2^(n-1), capped
    assert rows(db_path) == [
        ("drift_retrain:run7:2024-05-06", "drift_retrain", "discord", "sent", 3, "")
    ]


def test_a_server_that_always_fails_is_recorded_failed_after_the_bounded_attempts(
    db_path,
) -> None:
    with webhook_server([500] * 10) as hook:
        alerts = settings(slack_webhook=hook.url)
        training_failed_alert(db_path, "run9", "ValueError: no prices", alerts).join(10)
    assert len(hook.received) == 3
    (row,) = rows(db_path)
    assert row[3:5] == ("failed", 3) and "HTTP 500" in row[5] and hook.url not in row[5]
    assert workflows.load_alerts(db_path).loc[0, "status"] == "failed"


def test_a_client_error_is_not_retried(db_path) -> None:
    with webhook_server([404, 200]) as hook:
        training_failed_alert(db_path, "r", "m", settings(slack_webhook=hook.url)).join(10)
    assert len(hook.received) == 1
    assert rows(db_path)[0][3:6] == ("failed", 1, "HTTP 404 Not Found")


def test_dead_endpoints_are_recorded_failed_without_the_url(db_path) -> None:
    refused = f"http://127.0.0.1:{free_port()}/services/T000/B000/secret-token"
    with silent_port() as port:
        silent = f"http://127.0.0.1:{port}/api/webhooks/1/secret-token"
        quick = dataclasses.replace(FAST, timeout_s=0.3, attempts=2)
        alerts = settings(slack_webhook=refused, discord_webhook=silent, policy=quick)
        workflows.raise_alert(db_path, "gate_change", "dead", "t", "b", settings=alerts).join(15)
    found = {r[2]: r for r in rows(db_path)}
    assert found["slack"][3:5] == ("failed", 2) and "refused" in found["slack"][5].lower()
    assert found["discord"][3:5] == ("failed", 2) and "timed out" in found["discord"][5]
    assert not any("secret-token" in r[5] for r in found.values())


def test_no_channel_records_the_alert_and_none_turns_alerts_off(db_path) -> None:
    assert workflows.raise_alert(db_path, "gate_change", "x", "t", "b", settings=None).message == (
        "alerts are off"
    )
    assert rows(db_path) == []
    empty = workflows.raise_alert(db_path, "gate_change", "y", "t", "b", settings=settings())
    assert empty.claimed and empty.threads == ()
    assert workflows.load_alerts(db_path).loc[0, "status"] == "recorded (no channel configured)"


@pytest.mark.parametrize(
    "case",
    [
        ("nonsense", "e", "t", "b", "unknown alert kind"),
        ("gate_change", "", "t", "b", "1 to 200 characters"),
        ("gate_change", "x" * 201, "t", "b", "1 to 200 characters"),
        ("gate_change", "a\r\nb", "t", "b", "one line"),
        ("gate_change", 7, "t", "b", "1 to 200 characters"),
        ("gate_change", "e", None, "b", "a title and a body"),
        ("gate_change", "e", "t", b"bytes", "a title and a body"),
        ("gate_change", "e", " \r\n", "b", "a title and a body"),
    ],
)
def test_hostile_alert_input_is_refused_and_nothing_stored(db_path, case) -> None:
    *given, problem = case
    dispatch = workflows.raise_alert(db_path, *given, settings=settings())
    assert not dispatch.claimed and problem in dispatch.message
    assert rows(db_path) == []


def test_header_injection_in_a_title_stays_in_the_subject(db_path) -> None:
    with smtp_server() as (port, messages):
        title = "Gate\r\nBcc: victim@example.net\r\n\r\nforged body"
        workflows.raise_alert(
            db_path,
            "gate_change",
            "inject",
            title,
            "b",
            settings=settings(smtp=smtp_settings(port)),
        ).join(10)
    _, recipients, message = messages[0]
    assert recipients == ["ops@example.com", "me@example.org"] and message["Bcc"] is None
    assert message["Subject"] == "[workbench] Gate Bcc: victim@example.net forged body"


def test_huge_bodies_are_truncated_to_each_channels_limit(db_path) -> None:
    huge = "x" * 100_000
    with webhook_server() as slack, webhook_server() as discord:
        alerts = settings(slack_webhook=slack.url, discord_webhook=discord.url)
        workflows.raise_alert(
            db_path, "gate_change", "huge", "t" * 500, huge, settings=alerts
        ).join(10)
    text, content = slack.received[0][1]["text"], discord.received[0][1]["content"]
    assert len(text) == SLACK_LIMIT and len(content) == DISCORD_LIMIT
    assert text.endswith("[truncated]") and content.endswith("[truncated]")
    with closing(open_db(db_path)) as db:
        title, body = db.execute("SELECT title, body FROM alerts").fetchone()
    assert len(title) == 200 and len(body) == 20_000
    assert slack_payload("a", "b") == {"text": "*a*\nb"}
    assert discord_payload("a", "b") == {"content": "**a**\nb"}


SECRET = "https://hooks.slack.com/services/T0/B0/s3cr3t"


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"slack_webhook": "http://hooks.slack.com/services/x"}, "must be an https:// URL"),
        ({"slack_webhook": "ftp://example.com/x"}, "must be an https:// URL"),
        ({"discord_webhook": "javascript:alert(1)"}, "must be an https:// URL"),
        ({"discord_webhook": "https://"}, "with a host"),
        ({"slack_webhook": "https://user:pw@example.com/x"}, "no user name or password"),
        ({"slack_webhook": SECRET + "\r\nX: y"}, "one line"),
        ({"slack_webhook": "https://example.com:99999/x"}, "must be an https:// URL"),
        ({"slack_webhook": 5}, "must be text, not int"),
        ({"slack_webhook": ["https://example.com"]}, "must be text, not list"),
        ({"slack_hook": SECRET}, "unknown alert setting(s): slack_hook"),
        ({"smtp_host": "mail.example.com"}, "need alerts.smtp_from, alerts.smtp_to"),
        (
            {
                "smtp_host": "mail.example.com",
                "smtp_from": "a@b.c\r\nBcc: x@y.z",
                "smtp_to": "o@p.q",
            },
            "alerts.smtp_from must be one line",
        ),
        (
            {"smtp_host": "h", "smtp_from": "a@b.c", "smtp_to": "o@p.q, x@y.z\nBcc: v@w.x"},
            "alerts.smtp_to must be one line",
        ),
        ({"smtp_host": "h", "smtp_from": "not-an-address", "smtp_to": "o@p.q"}, "plain email"),
        ({"smtp_host": "h", "smtp_from": "a@b.c", "smtp_to": 3}, "text or a list, not int"),
        ({"smtp_host": "h", "smtp_from": "a@b.c", "smtp_to": []}, "need alerts.smtp_to"),
        ({"smtp_host": "h; rm", "smtp_from": "a@b.c", "smtp_to": "o@p.q"}, "host name"),
        (
            {"smtp_host": "h", "smtp_from": "a@b.c", "smtp_to": "o@p.q", "smtp_port": 0},
            "smtp_port must be a whole number from 1 to 65535",
        ),
        (
            {"smtp_host": "h", "smtp_from": "a@b.c", "smtp_to": "o@p.q", "smtp_port": "25x"},
            "smtp_port must be a whole number",
        ),
        (
            {"smtp_host": "h", "smtp_from": "a@b.c", "smtp_to": "o@p.q", "smtp_port": True},
            "smtp_port must be a whole number",
        ),
        (
            {"smtp_host": "h", "smtp_from": "a@b.c", "smtp_to": "o@p.q", "smtp_starttls": "maybe"},
            "smtp_starttls must be true or false",
        ),
        (
            {
                "smtp_host": "h",
                "smtp_from": "a@b.c",
                "smtp_to": "o@p.q",
                "smtp_password": "hunter2",
            },
            "smtp_password is set without alerts.smtp_user",
        ),
    ],
)
def test_bad_settings_are_refused_by_name_never_echoing_the_value(values, problem) -> None:
    with pytest.raises(AlertSettingsError, match=re.escape(problem)) as err:
        parse_alert_settings(values)
    assert "s3cr3t" not in str(err.value) and "hunter2" not in str(err.value)


def test_good_settings_from_secrets_and_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parsed = parse_alert_settings(
        {
            "slack_webhook": SECRET,
            "discord_webhook": "http://localhost:8080/relay",
            "smtp_host": "smtp.example.com",
            "smtp_port": 465,
            "smtp_user": "bench",
            "smtp_password": "hunter2",
            "smtp_from": "bench@example.com",
            "smtp_to": ["a@example.com", "b@example.com"],
            "smtp_starttls": False,
        }
    )
    assert parsed.channels == ("slack", "discord", "email")
    assert "s3cr3t" not in repr(parsed) and "hunter2" not in repr(parsed)
    assert workflows.alert_settings().channels == ()  # nothing set: recorded, not sent
    for name, value in parsed.to_env().items():  # how a training job receives them
        monkeypatch.setenv(name, value)
    assert workflows.alert_settings() == parsed
    for name in parsed.to_env():
        monkeypatch.delenv(name)
    env = {
        "WORKBENCH_SMTP_HOST": "h",
        "WORKBENCH_SMTP_FROM": "a@b.co",
        "WORKBENCH_SMTP_TO": "c@d.co",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    smtp = workflows.alert_settings().smtp
    assert smtp.port == 587 and smtp.starttls and smtp.recipients == ("c@d.co",)
    assert RetryPolicy().attempts == 3 and RetryPolicy().timeout_s == 5.0


def test_a_failed_training_run_alerts(db_path) -> None:
    config = TrainConfig(("AAPL",), pd.Timestamp("2015-01-01"), pd.Timestamp("2016-01-01"))
    with webhook_server() as hook:
        with pytest.raises(Exception):  # noqa: B017, PT011 (an empty store: any error)
            workflows.train_model(
                db_path, config, run_id="r-fail", alerts=settings(slack_webhook=hook.url)
            )
        wait_for(lambda: hook.received)
    assert hook.received[0][1]["text"].startswith(
        "*Training run r-fail failed*\nTraining run r-fail"
    )
    assert wait_for(lambda: rows(db_path)[0][3] == "sent")


def test_a_training_job_whose_process_died_alerts(db_path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait(30)
    with closing(open_db(db_path)) as db:
        runs = ModelRunRepository(db)
        runs.acquire_lock("r-killed", dead.pid)
        runs.start("r-killed", {})
    with webhook_server() as hook:
        assert workflows.training_status(db_path, settings(slack_webhook=hook.url)) is None
        wait_for(lambda: hook.received)
    assert "Training run r-killed failed: the training process ended" in hook.received[0][1]["text"]
