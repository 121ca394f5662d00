"""The Monitor page lists the alerts, newest first, and says where they go; bad alert
secrets turn alerts off with a message that names the setting, never its value."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engine import workflows
from engine.workflows.platform.alerts import ALERT_LOG_COLUMNS
from tests.alert_servers import settings, wait_for, webhook_server


def open_monitor(at: AppTest) -> AppTest:
    at.switch_page("views/monitor.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_monitor_page_shows_the_alert_log_newest_first(app: AppTest, seeded_db: Path) -> None:
    with webhook_server([500] * 3) as hook:
        alerts = settings(slack_webhook=hook.url)
        workflows.raise_alert(seeded_db, "gate_change", "g1", "Gate: go", "b", settings=alerts)
        workflows.raise_alert(
            seeded_db, "reentry_met", "r1", "Re-entry met", "b", settings=settings()
        )
        wait_for(lambda: workflows.load_alerts(seeded_db)["status"].eq("failed").any())
    at = open_monitor(app)
    (log,) = [d.value for d in at.dataframe if "channels" in d.value.columns]
    assert list(log.columns) == list(ALERT_LOG_COLUMNS)
    assert set(log["title"]) == {"Gate: go", "Re-entry met"}
    assert log["time"].is_monotonic_decreasing
    failed = log.set_index("title").loc["Gate: go"]
    assert (failed["channels"], failed["status"], failed["attempts"]) == ("slack", "failed", 3)
    assert "HTTP 500" in failed["detail"]
    assert log.set_index("title").loc["Re-entry met", "status"] == (
        "recorded (no channel configured)"
    )
    assert any("No alert channel configured" in c.value for c in at.caption)


def test_bad_alert_secrets_turn_alerts_off_without_echoing_them(
    app: AppTest, secrets_file: Path
) -> None:
    secrets_file.write_text('[alerts]\nslack_webhook = "http://hooks.example.com/T0/s3cr3t"\n')
    at = open_monitor(app)
    warnings = [w.value for w in at.warning]
    refused = "Alerts are off: alerts.slack_webhook must be an https:// URL"
    assert any(refused in w for w in warnings)
    assert not any("s3cr3t" in w for w in warnings)
    secrets_file.write_text(
        '[alerts]\ndiscord_webhook = "https://discord.example.com/api/webhooks/1/x"\n'
    )
    at = open_monitor(app)
    assert any("Alerts go to: discord." in c.value for c in at.caption)
    # a value of the wrong type: the settings cannot be built; the app says which, and stops
    secrets_file.write_text("[alerts]\nsmtp_port = 'not a port'\n")
    at = open_monitor(app)
    (error,) = [e.value for e in at.error]
    assert error.startswith("Settings: alerts.smtp_port ($WORKBENCH_SMTP_PORT or [alerts]")
    assert "not a port" not in error and not at.dataframe


def test_the_environment_wins_over_the_secrets_file(
    app: AppTest, secrets_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file's webhook is invalid, the environment's is good: the environment's is
    used (the page once read the file first, the Sources page the environment first)."""
    secrets_file.write_text('[alerts]\nslack_webhook = "http://hooks.example.com/T0/s3cr3t"\n')
    monkeypatch.setenv("WORKBENCH_SLACK_WEBHOOK", "https://hooks.example.com/T0/good")
    at = open_monitor(app)
    assert not at.warning
    assert any("Alerts go to: slack." in c.value for c in at.caption)
