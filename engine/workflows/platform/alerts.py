"""Alerts through the store: each event raised once, delivered in the background.

``raise_alert`` is the one entry point (the paper step, the drift monitor, training and
the gate and re-entry checks call it). It claims the event id in the store first (an
insert-or-ignore in one transaction, so a rerun or a racing process sends nothing), then
delivers to every configured channel in a thread of its own with bounded retries,
recording each channel's status. It never raises and never waits for a delivery.
"""

from __future__ import annotations

import logging
import threading
from contextlib import closing
from dataclasses import dataclass, field

import pandas as pd

from engine.alerts import AlertSettings, deliver, one_line, truncate
from engine.alerts.channels import EMAIL_LIMIT, redact
from engine.workflows.data.prices import DbPath
from engine.workflows.platform.background import start_thread
from store.alerts import AlertRepository
from store.db import open_db

LOG = logging.getLogger(__name__)
ALERT_KINDS = {
    "guardrail_trip": "a paper step tripped a guardrail (daily loss limit, circuit breaker)",
    "gate_change": "the go/no-go gate changed its verdict",
    "drift_retrain": "the drift monitor recommends retraining",
    "reentry_met": "the re-entry conditions are met",
    "training_failed": "a training run failed",
}
LOG_LIMIT = 50  # alerts listed on the Monitor page
MAX_EVENT_ID = 200
ALERT_LOG_COLUMNS = ("time", "kind", "title", "channels", "status", "attempts", "detail")


@dataclass(frozen=True)
class AlertDispatch:
    """What ``raise_alert`` did: ``claimed`` when this call recorded the event (and started
    its deliveries); otherwise ``message`` says why not."""

    event_id: str
    claimed: bool
    message: str
    threads: tuple[threading.Thread, ...] = field(default=(), repr=False, compare=False)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the deliveries (tests, scripts about to exit); each bounded anyway."""
        for thread in self.threads:
            thread.join(timeout)


def _clean_body(body: str) -> str:
    kept = "".join(c for c in body if c in "\n\t" or (ord(c) >= 32 and ord(c) != 127))
    return truncate(kept.strip(), EMAIL_LIMIT)


def _problem(kind: object, event_id: object, title: object, body: object) -> str:
    if kind not in ALERT_KINDS:
        return f"unknown alert kind; known: {', '.join(ALERT_KINDS)}"
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_EVENT_ID:
        return f"an event id must be text of 1 to {MAX_EVENT_ID} characters"
    if one_line(event_id, MAX_EVENT_ID) != event_id:
        return "an event id must be one line without control characters or runs of spaces"
    if not isinstance(title, str) or not isinstance(body, str) or not one_line(title):
        return "an alert needs a title and a body, both text"
    return ""


def _deliver(db_path: DbPath, event_id: str, channel: str, message: tuple[str, str], settings):
    title, body = message
    try:
        with closing(open_db(db_path)) as db:
            alerts = AlertRepository(db)
            result = deliver(
                channel,
                title,
                body,
                settings,
                on_attempt=lambda n: alerts.record(event_id, channel, "pending", n),
            )
            alerts.record(event_id, channel, result.status, result.attempts, result.reason)
    except Exception as exc:  # noqa: BLE001 (a delivery thread must end quietly)
        reason = redact(f"{type(exc).__name__}: {exc}", settings.secrets)
        LOG.warning("alert %s via %s not recorded: %s", event_id, channel, reason)


def raise_alert(
    db_path: DbPath,
    kind: str,
    event_id: str,
    title: str,
    body: str,
    *,
    settings: AlertSettings | None,
) -> AlertDispatch:
    """Raise the alert for event ``event_id`` once; never raises.

    Parameters
    ----------
    kind : one of ``ALERT_KINDS``
    event_id : str
        The event's own stable id (e.g. ``"gate_change:<run>:<date>"``): the same id raised
        again, by a rerun or another process, records and sends nothing.
    title, body : str
        The title becomes one line (the email subject) of at most 200 characters; the
        body is cut to 20,000 (Slack and Discord cut it shorter, to their limits).
    settings : AlertSettings or None
        None: alerts are off, nothing is recorded. No channel configured: the alert is
        recorded (the Monitor page lists it) and sent nowhere.
    """
    if settings is None:
        return AlertDispatch(str(event_id), False, "alerts are off")
    problem = _problem(kind, event_id, title, body)
    if problem:
        LOG.warning("alert not raised: %s", problem)
        return AlertDispatch(str(event_id)[:MAX_EVENT_ID], False, problem)
    title, body = one_line(title), _clean_body(body)
    try:
        with closing(open_db(db_path)) as db:
            claimed = AlertRepository(db).claim(event_id, kind, title, body, settings.channels)
    except Exception as exc:  # noqa: BLE001 (alerting never fails the caller)
        message = f"alert not recorded: {redact(f'{type(exc).__name__}: {exc}', settings.secrets)}"
        LOG.warning("%s (event %s)", message, event_id)
        return AlertDispatch(event_id, False, message)
    if not claimed:
        return AlertDispatch(event_id, False, "already raised: sent once only")
    threads = tuple(
        start_thread(
            _deliver, db_path, event_id, channel, (title, body), settings, name=f"alert-{channel}"
        )
        for channel in settings.channels
    )
    message = f"raised; delivering to {len(threads)} channel(s)"
    return AlertDispatch(event_id, True, message, threads)


def _summary(group: pd.DataFrame) -> pd.Series:
    sent = group.dropna(subset=["channel"])
    statuses = set(sent["status"])
    if not statuses:
        status = "recorded (no channel configured)"
    elif len(statuses) == 1:
        status = statuses.pop()
    else:
        status = "pending" if "pending" in statuses else "partly sent"
    detail = "; ".join(
        f"{r.channel}: {r.status}" + (f" ({r.reason})" if r.reason else "")
        for r in sent.itertuples()
    )
    first = group.iloc[0]
    return pd.Series(
        {
            "time": first["created_utc"],
            "kind": first["kind"],
            "title": first["title"],
            "channels": ", ".join(sent["channel"]) or "none",
            "status": status,
            "attempts": int(sent["attempts"].max()) if len(sent) else 0,
            "detail": detail,
        }
    )


def load_alerts(db_path: DbPath, limit: int = LOG_LIMIT) -> pd.DataFrame:
    """The newest ``limit`` alerts, newest first (``ALERT_LOG_COLUMNS``): when, what, to
    which channels, their status and the most attempts any channel took."""
    with closing(open_db(db_path)) as db:
        rows = AlertRepository(db).log(limit)
    if rows.empty:
        return pd.DataFrame(columns=list(ALERT_LOG_COLUMNS))
    order = list(dict.fromkeys(rows["event_id"]))
    table = [_summary(rows[rows["event_id"] == event]) for event in order]
    return pd.DataFrame(table, columns=list(ALERT_LOG_COLUMNS)).reset_index(drop=True)


# --- the events this package raises (gate_change and reentry_met: raise_alert directly) ---


def guardrail_alert(
    db_path: DbPath, step_date: str, reason: str, halted: bool, settings: AlertSettings | None
) -> AlertDispatch:
    """A paper step's guardrail tripped: one alert per step date."""
    effect = (
        "No position is opened until you resume trading on the Paper page; reductions, "
        "exits and marks keep running."
        if halted
        else "No position was opened today; reductions, exits and marks keep running."
    )
    return raise_alert(
        db_path,
        "guardrail_trip",
        f"guardrail_trip:{step_date}",
        f"Paper guardrail on {step_date}: {reason}",
        f"The paper step for {step_date} tripped a guardrail: {reason}.\n{effect}",
        settings=settings,
    )


def drift_alert(
    db_path: DbPath,
    run_id: str,
    as_of: pd.Timestamp,
    reasons: tuple[str, ...],
    settings: AlertSettings | None,
) -> AlertDispatch:
    """The drift monitor recommends retraining ``run_id``: one alert per run and date."""
    day = f"{pd.Timestamp(as_of):%Y-%m-%d}"
    return raise_alert(
        db_path,
        "drift_retrain",
        f"drift_retrain:{run_id}:{day}",
        f"Retraining recommended for run {run_id} ({day})",
        "The drift monitor recommends retraining:\n" + "\n".join(f"- {r}" for r in reasons),
        settings=settings,
    )


def training_failed_alert(
    db_path: DbPath, run_id: str, message: str, settings: AlertSettings | None
) -> AlertDispatch:
    """Training run ``run_id`` was marked failed: one alert per run."""
    return raise_alert(
        db_path,
        "training_failed",
        f"training_failed:{run_id}",
        f"Training run {run_id} failed",
        f"Training run {run_id} failed: {message}",
        settings=settings,
    )
