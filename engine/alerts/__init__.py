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
    alert_settings_from_env,
    parse_alert_settings,
)

__all__ = [
    "CHANNELS",
    "AlertSettings",
    "AlertSettingsError",
    "Delivery",
    "RetryPolicy",
    "SmtpSettings",
    "alert_settings_from_env",
    "deliver",
    "discord_payload",
    "email_message",
    "one_line",
    "parse_alert_settings",
    "slack_payload",
    "truncate",
]
