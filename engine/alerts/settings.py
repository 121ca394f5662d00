"""Alert settings: which channels to deliver to, validated once, secrets kept out of sight.

``engine.settings`` reads them (``[alerts]`` in ``.streamlit/secrets.toml``, the
``WORKBENCH_*`` environment variables) and ``parse_alert_settings`` validates them.
No error message or ``repr`` ever contains a webhook URL or a password.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from engine.settings import ENVIRONMENT

SETTING_KEYS = (
    "slack_webhook", "discord_webhook", "smtp_host", "smtp_port", "smtp_user",
    "smtp_password", "smtp_from", "smtp_to", "smtp_starttls",
)  # fmt: skip
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")  # plain http allowed: tests, local relays
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?|\[?[0-9A-Fa-f:.]+\]?")
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
MAX_URL = 2048
MAX_RECIPIENTS = 20


class AlertSettingsError(ValueError):
    """The alert settings are invalid; the message names the setting, never its value."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded delivery: ``attempts`` tries per channel, ``timeout_s`` per request, waits
    of ``backoff_s`` x 2^(n-1) between tries, at most ``cap_s``; ``sleep`` is injectable."""

    attempts: int = 3
    timeout_s: float = 5.0
    backoff_s: float = 0.5
    cap_s: float = 4.0
    sleep: Callable[[float], None] = time.sleep

    def wait(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        return min(self.cap_s, self.backoff_s * 2 ** (attempt - 1))


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    user: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = True


@dataclass(frozen=True)
class AlertSettings:
    """Where alerts go. Empty: alerts are recorded (the Monitor page lists them), not sent."""

    slack_webhook: str = field(default="", repr=False)
    discord_webhook: str = field(default="", repr=False)
    smtp: SmtpSettings | None = None
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def channels(self) -> tuple[str, ...]:
        """The configured channels, in delivery order."""
        found = (("slack", self.slack_webhook), ("discord", self.discord_webhook))
        return tuple(n for n, url in found if url) + (("email",) if self.smtp else ())

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values never to show: webhook URLs and the SMTP password."""
        values = (self.slack_webhook, self.discord_webhook, self.smtp and self.smtp.password)
        return tuple(v for v in values if v)

    def to_env(self) -> dict[str, str]:
        """The settings as ``WORKBENCH_*`` variables (for a child process, e.g. a training
        job, whose settings read them back)."""
        values: dict[str, object] = {
            "slack_webhook": self.slack_webhook,
            "discord_webhook": self.discord_webhook,
        }
        if self.smtp:
            smtp = self.smtp
            values |= {
                "smtp_host": smtp.host, "smtp_port": smtp.port, "smtp_user": smtp.user,
                "smtp_password": smtp.password, "smtp_from": smtp.sender,
                "smtp_to": ",".join(smtp.recipients), "smtp_starttls": str(smtp.starttls).lower(),
            }  # fmt: skip
        names = {key: name for name, (section, key) in ENVIRONMENT.items() if section == "alerts"}
        return {names[k]: str(v) for k, v in values.items() if v not in ("", None)}


def _text(key: str, value: object, limit: int = 320) -> str:
    if not isinstance(value, str):
        raise AlertSettingsError(f"alerts.{key} must be text, not {type(value).__name__}")
    value = value.strip()
    if len(value) > limit or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise AlertSettingsError(
            f"alerts.{key} must be one line of at most {limit} characters (no control characters)"
        )
    return value


def _webhook(key: str, value: object) -> str:
    url = _text(key, value, MAX_URL)
    problem = f"alerts.{key} must be an https:// URL (http:// only to 127.0.0.1 or localhost)"
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises on a bad port
    except ValueError:
        raise AlertSettingsError(problem) from None
    if " " in url or not host or parts.username is not None or parts.password is not None:
        raise AlertSettingsError(problem + ", with a host and no user name or password in it")
    if parts.scheme == "https" or (parts.scheme == "http" and host in LOCAL_HOSTS):
        return url
    raise AlertSettingsError(problem)


def _address(key: str, value: object) -> str:
    address = _text(key, value, 254)
    if not EMAIL.fullmatch(address):
        raise AlertSettingsError(f"alerts.{key} must be a plain email address (name@domain)")
    return address


def _recipients(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [v for v in value.split(",") if v.strip()]
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        kind = type(value).__name__
        raise AlertSettingsError(f"alerts.smtp_to must be text or a list, not {kind}")
    if not items or len(items) > MAX_RECIPIENTS:
        raise AlertSettingsError(f"alerts.smtp_to must list 1 to {MAX_RECIPIENTS} addresses")
    return tuple(_address("smtp_to", v) for v in items)


def _port(value: object) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise AlertSettingsError("alerts.smtp_port must be a whole number from 1 to 65535")
    return value


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE + FALSE:
        return value.strip().lower() in TRUE
    raise AlertSettingsError("alerts.smtp_starttls must be true or false")


def _smtp(values: Mapping[str, object]) -> SmtpSettings | None:
    if not any(k.startswith("smtp_") for k in values):
        return None
    missing = [k for k in ("smtp_host", "smtp_from", "smtp_to") if not values.get(k)]
    if missing:
        raise AlertSettingsError(f"email alerts need {', '.join('alerts.' + k for k in missing)}")
    host = _text("smtp_host", values["smtp_host"], 253)
    if not HOSTNAME.fullmatch(host):
        raise AlertSettingsError("alerts.smtp_host must be a host name or an IP address")
    user = _text("smtp_user", values.get("smtp_user", ""))
    password = values.get("smtp_password", "")
    if not isinstance(password, str) or len(password) > 1024:
        raise AlertSettingsError("alerts.smtp_password must be text of at most 1024 characters")
    if password and not user:
        raise AlertSettingsError("alerts.smtp_password is set without alerts.smtp_user")
    starttls = _flag(values.get("smtp_starttls", True))
    return SmtpSettings(
        host=host,
        port=_port(values.get("smtp_port", 587 if starttls else 25)),
        sender=_address("smtp_from", values["smtp_from"]),
        recipients=_recipients(values["smtp_to"]),
        user=user,
        password=password,
        starttls=starttls,
    )


def parse_alert_settings(
    values: Mapping[str, object], *, policy: RetryPolicy | None = None
) -> AlertSettings:
    """Validate ``values`` (the ``[alerts]`` table: ``SETTING_KEYS``); AlertSettingsError
    names the first bad setting. Empty values are unset."""
    if not isinstance(values, Mapping):
        raise AlertSettingsError("[alerts] must be a table of settings")
    unknown = sorted(str(k) for k in values if k not in SETTING_KEYS)
    if unknown:
        raise AlertSettingsError(
            f"unknown alert setting(s): {', '.join(unknown)[:200]}; "
            f"known: {', '.join(SETTING_KEYS)}"
        )
    values = {k: v for k, v in values.items() if v not in ("", None)}
    return AlertSettings(
        slack_webhook=_webhook("slack_webhook", values.get("slack_webhook", "")),
        discord_webhook=_webhook("discord_webhook", values.get("discord_webhook", "")),
        smtp=_smtp(values),
        policy=policy or RetryPolicy(),
    )
