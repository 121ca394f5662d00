"""Delivering one alert to one channel: Slack or Discord incoming webhooks, SMTP email.

Pure delivery (no store): build the channel's payload, send it with a timeout, retry with
a bounded exponential backoff, and say what happened. Nothing here raises to the caller
and no reason it reports contains a webhook URL or a password.
"""

from __future__ import annotations

import json
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage

from engine.alerts.settings import AlertSettings, RetryPolicy, SmtpSettings
from engine.redaction import redact, truncate

CHANNELS = ("slack", "discord", "email")
SLACK_LIMIT = 4000  # characters of "text" shown in full (Slack truncates far longer ones)
DISCORD_LIMIT = 2000  # the most characters Discord accepts in "content"
EMAIL_LIMIT = 20_000
TITLE_LIMIT = 200


@dataclass(frozen=True)
class Delivery:
    """How one channel's delivery ended: ``status`` sent or failed, after ``attempts``."""

    channel: str
    status: str
    attempts: int
    reason: str = ""


class PermanentError(RuntimeError):
    """A refusal that a retry cannot change (a 4xx other than 429)."""


def one_line(text: str, limit: int = TITLE_LIMIT) -> str:
    """``text`` as one header-safe line: control characters (CR, LF, ...) become spaces."""
    cleaned = "".join(" " if ord(c) < 32 or ord(c) == 127 else c for c in text)
    return truncate(" ".join(cleaned.split()), limit)


def slack_payload(title: str, body: str) -> dict:
    """Slack's incoming-webhook message: ``{"text": ...}``, the title in bold."""
    return {"text": truncate(f"*{title}*\n{body}", SLACK_LIMIT)}


def discord_payload(title: str, body: str) -> dict:
    """Discord's execute-webhook message: ``{"content": ...}``, the title in bold."""
    return {"content": truncate(f"**{title}**\n{body}", DISCORD_LIMIT)}


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Follow no redirect: the answer to a 3xx becomes an ``HTTPError`` with its status."""

    def redirect_request(self, *args, **kwargs) -> None:
        return None


# a redirect would carry the alert (and the client) past the URL the settings validated
OPENER = urllib.request.build_opener(_NoRedirects)


def post_json(url: str, payload: dict, timeout: float) -> None:
    """POST ``payload`` as JSON to ``url`` itself, never following a redirect; raise unless
    the answer is 2xx (PermanentError on a 3xx or a 4xx other than 429, which no retry
    would change). No message names the URL or a redirect's target."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "workbench-alerts"},
        method="POST",
    )
    try:
        with OPENER.open(request, timeout=timeout) as response:  # validated URL, no redirects
            response.read(1024)
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            raise PermanentError(
                f"HTTP {exc.code} {exc.reason}: the webhook answered with a redirect, which is "
                "not followed (set the final https:// URL in the settings)"
            ) from None
        if 400 <= exc.code < 500 and exc.code != 429:
            raise PermanentError(f"HTTP {exc.code} {exc.reason}") from None
        raise RuntimeError(f"HTTP {exc.code} {exc.reason}") from None


def email_message(smtp: SmtpSettings, title: str, body: str) -> EmailMessage:
    """The alert as an email: the title (one line) as its subject."""
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.recipients)
    message["Subject"] = one_line(f"[workbench] {title}")
    message.set_content(truncate(body, EMAIL_LIMIT))
    return message


def send_email(smtp: SmtpSettings, title: str, body: str, timeout: float) -> None:
    """Send the alert by SMTP (STARTTLS first when asked, then login when a user is set)."""
    with smtplib.SMTP(smtp.host, smtp.port, timeout=timeout) as client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.user:
            client.login(smtp.user, smtp.password)
        client.send_message(email_message(smtp, title, body))


def _send_once(channel: str, title: str, body: str, settings: AlertSettings) -> None:
    timeout = settings.policy.timeout_s
    if channel == "slack":
        post_json(settings.slack_webhook, slack_payload(title, body), timeout)
    elif channel == "discord":
        post_json(settings.discord_webhook, discord_payload(title, body), timeout)
    elif channel == "email" and settings.smtp is not None:
        send_email(settings.smtp, title, body, timeout)
    else:
        raise PermanentError(f"channel {channel!r} is not configured")


def deliver(
    channel: str, title: str, body: str, settings: AlertSettings, on_attempt=None
) -> Delivery:
    """Deliver to ``channel`` with ``settings.policy``'s bounded retries; never raises.

    ``on_attempt(n)`` (optional) is called before attempt ``n``.
    """
    policy: RetryPolicy = settings.policy
    reason = ""
    for attempt in range(1, max(policy.attempts, 1) + 1):
        if on_attempt is not None:
            on_attempt(attempt)
        try:
            _send_once(channel, title, body, settings)
            return Delivery(channel, "sent", attempt)
        except PermanentError as exc:
            return Delivery(channel, "failed", attempt, redact(str(exc), settings.secrets))
        except Exception as exc:  # noqa: BLE001 (any failure is recorded, then retried)
            reason = redact(f"{type(exc).__name__}: {exc}", settings.secrets)
        if attempt < policy.attempts:
            policy.sleep(policy.wait(attempt))
    return Delivery(channel, "failed", max(policy.attempts, 1), reason)
