"""Alerts: settings and delivery to Slack, Discord and email (pure; no store, no UI).

``engine.workflows.platform.alerts`` records them in the store, once per event, and delivers them
in the background.
"""

from engine.alerts.channels import (
    CHANNELS,
    Delivery,
    deliver,
    discord_payload,
    email_message,
    one_line,
    slack_payload,
    truncate,
)
from engine.alerts.settings import (
    AlertSettings,
    AlertSettingsError,
    RetryPolicy,
    SmtpSettings,
    parse_alert_settings,
)

__all__ = [
    "CHANNELS",
    "AlertSettings",
    "AlertSettingsError",
    "Delivery",
    "RetryPolicy",
    "SmtpSettings",
    "deliver",
    "discord_payload",
    "email_message",
    "one_line",
    "parse_alert_settings",
    "slack_payload",
    "truncate",
]
