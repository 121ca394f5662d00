"""The daily routine: what the workbench does by itself after each NYSE close.

For every session whose close has passed and whose steps are not all done, in order:
refresh the watchlist and the market context, bring the feature cache up to date,
forecast with the active model, keep the forecasts in the live record, score those whose
outcome is now known and refit the live recalibration when enough new outcomes arrived
(``engine.workflows.research.live_calibration``), run the paper step, mirror its orders
to the broker (when one is configured), check the model for drift, retrain it when the
retraining policy in force says so (``engine.workflows.research.retraining``), watch the
re-entry conditions (drift and re-entry alert once per event), and write the paper
account's tear sheet beside the store
(``reports/paper-<session>.html``).

- **Once per session.** Each step's outcome is stored (``routine_steps``); a rerun does
  again only what is not done, and every step is idempotent on its own (a paper step run
  twice changes nothing, the live record keeps the first copy of a forecast, an alert is
  raised once per event id), so a routine killed inside a step completes the day exactly
  once when it runs again.
- **Which sessions.** The first run takes the latest session whose close has passed;
  later runs catch up every session since the last one done, oldest first. A weekend or a
  holiday adds no session, and a run at 23:59 UTC and another at 00:01 UTC both see the
  same session (closes are compared in UTC, sessions counted in New York).
- **Failures.** A failed step stops its session and the later ones (they wait for it), so
  the paper account never steps over a day. The broker mirror and the retrain may fail
  without stopping the day (the mirror's next run sends every order still unsent; a
  retrain that failed, say because another training holds the lock, leaves the champion
  as it was), and each is retried on every run until it succeeds.
- **One at a time.** The routine holds an exclusive lock on a file beside the store (the
  operating system releases it when the process ends, however it ends).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from engine.alerts import AlertSettings
from engine.data.calendar import EXCHANGE_TZ, nyse_calendar
from engine.data.universe import FACTOR_ETFS, INDICES
from engine.workflows.data.features import build_features
from engine.workflows.data.prices import DbPath, refresh_data, store_path
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.forecast import forecast
from engine.workflows.modeling.runs import LookaheadError, active_run
from engine.workflows.research.live_calibration import update_live_calibration
from engine.workflows.research.live_record import record_live_forecasts, score_live_record
from engine.workflows.research.monitor import monitor_model
from engine.workflows.research.report import paper_report_html
from engine.workflows.research.retraining import retrain_if_due
from engine.workflows.routines.daily import alert_reentry
from engine.workflows.trading.broker import mirror_orders
from engine.workflows.trading.paper import paper_step
from store.db import StoreError, open_db
from store.routine import RoutineRepository

if TYPE_CHECKING:
    from engine.trading.broker import BrokerSettings

AFTER_CLOSE = pd.Timedelta(minutes=30)  # a scheduler runs the routine this long after a close
STEPS = (
    "refresh", "features", "forecasts", "paper", "broker", "monitor", "retrain", "alerts", "report"
)  # fmt: skip
MAY_FAIL = ("broker", "retrain")  # steps whose failure does not stop the day


class RoutineBusyError(RuntimeError):
    """Another routine holds the lock."""


@dataclass(frozen=True)
class RoutineConfig:
    """What the routine trades and where it reads: the watchlist's tickers, the price
    source, where alerts go, and the broker (None: no mirror)."""

    tickers: tuple[str, ...]
    source: str = "sample"
    alerts: AlertSettings | None = None
    broker: BrokerSettings | None = None


@dataclass(frozen=True)
class RoutineResult:
    """The sessions the run looked at and each step's outcome: ``steps`` has columns
    session, step, status (done, skipped, failed, or "done before"), detail."""

    sessions: tuple[pd.Timestamp, ...]
    steps: pd.DataFrame

    @property
    def ok(self) -> bool:
        return not (self.steps["status"] == "failed").any()


@contextmanager
def routine_lock(db_path: DbPath) -> Iterator[None]:
    """Hold the routine's lock for ``db_path`` (RoutineBusyError when another holds it)."""
    path = Path(f"{db_path or store_path()}.routine.lock")
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RoutineBusyError(f"another daily routine is running ({path})") from None
        yield
    finally:
        os.close(handle)  # closing the descriptor releases the lock


def closed_sessions(now: pd.Timestamp, since: pd.Timestamp | None) -> list[pd.Timestamp]:
    """NYSE sessions whose close is at or before ``now`` (UTC): after ``since`` (all of
    them since then, oldest first) or, with no ``since``, the latest one alone."""
    now = pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    calendar = nyse_calendar()
    today = now.tz_convert(EXCHANGE_TZ).tz_localize(None).normalize()
    first = since + pd.Timedelta(days=1) if since is not None else today - pd.Timedelta(days=10)
    sessions = calendar.sessions_in_range(max(first, calendar.first_session), today)
    closed = [s for s in sessions if calendar.session_close(s) <= now]
    return closed if since is not None else closed[-1:]


class Skip(Exception):  # noqa: N818 - a step's "nothing to do", not an error
    """A step with nothing to do on this session (recorded as skipped, not failed)."""


def next_routine_run(now: pd.Timestamp | None = None) -> pd.Timestamp:
    """When a scheduler next runs the routine: ``AFTER_CLOSE`` after the first NYSE close
    from which that much time has not yet passed at ``now`` (UTC; default the clock)."""
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    calendar = nyse_calendar()
    today = now.tz_convert(EXCHANGE_TZ).tz_localize(None).normalize()
    for session in calendar.sessions_in_range(today, today + pd.Timedelta(days=14)):
        run = calendar.session_close(session) + AFTER_CLOSE
        if run > now:
            return run
    raise ValueError(f"no NYSE session within two weeks of {now:%Y-%m-%d}")


def _steps(db_path: DbPath, config: RoutineConfig) -> dict[str, Callable[[pd.Timestamp], str]]:
    """Each step as a function of the session: it returns what it did, raises on failure
    and raises ``Skip`` when it has nothing to do."""
    tickers = list(config.tickers)

    refreshed: list[pd.Timestamp] = []

    def refresh(day: pd.Timestamp) -> str:
        if refreshed:  # one refresh brings every day in: the run's later sessions reuse it
            return f"refreshed with {refreshed[0]:%Y-%m-%d} in this run"
        wanted = sorted(set(tickers) | set(INDICES) | set(FACTOR_ETFS))
        result = refresh_data(db_path, config.source, wanted)
        if result.status in ("failed", "rejected"):
            raise StoreError(result.message)
        refreshed.append(day)
        return result.message

    def features(day: pd.Timestamp) -> str:
        built = build_features(db_path)
        return f"{len(built.built)} built, {len(built.appended)} appended"

    def needs_model(day: pd.Timestamp) -> None:
        if active_run(db_path) is None:
            raise Skip("no active model yet")

    def forecasts(day: pd.Timestamp) -> str:
        needs_model(day)
        try:
            made = forecast(db_path, build_snapshot(db_path, tickers, day))
        except LookaheadError as exc:  # catching up on a day before the model's outcomes
            raise Skip(str(exc)) from None
        if made.empty:
            raise Skip("no forecast: no active model, or no prices on the session")
        kept = record_live_forecasts(db_path, made)
        scored = score_live_record(db_path, day)
        version = update_live_calibration(db_path, day)
        refit = "" if version is None else f", live calibration version {version}"
        return f"{len(made)} forecasts, {kept} new in the live record, {scored} scored{refit}"

    def paper(day: pd.Timestamp) -> str:
        needs_model(day)
        return paper_step(db_path, day, tickers, alerts=config.alerts).message

    def broker(day: pd.Timestamp) -> str:
        if config.broker is None:
            raise Skip("no broker configured")
        mirrored = mirror_orders(db_path, config.broker)
        if mirrored.failed:
            first = next(m for m in mirrored.messages if ": failed: " in m)
            raise StoreError(f"{mirrored.failed} order(s) not mirrored; {first}")
        return mirrored.message

    drift: dict[pd.Timestamp, tuple[str, ...]] = {}  # the monitor's reasons, for retrain

    def monitor(day: pd.Timestamp) -> str:
        needs_model(day)
        report = monitor_model(db_path, day, alerts=config.alerts)
        drift[day] = report.reasons if report.retrain else ()
        return "retrain recommended: " + "; ".join(report.reasons) if report.retrain else "no drift"

    def retrain(day: pd.Timestamp) -> str:
        needs_model(day)
        check = retrain_if_due(db_path, day, drift=drift.get(day))  # None: monitored before
        if check.result is None:
            raise Skip(check.message)
        return check.message

    def alerts(day: pd.Timestamp) -> str:
        met = alert_reentry(db_path, day, config.alerts)
        return f"re-entry met: {', '.join(met) or 'none'}"

    def report(day: pd.Timestamp) -> str:
        try:
            html = paper_report_html(db_path)
        except (StoreError, ValueError) as exc:  # no account yet, or under three steps
            raise Skip(str(exc)) from None
        target = (
            Path(f"{db_path or store_path()}").parent / "reports" / f"paper-{day:%Y-%m-%d}.html"
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".html.tmp")
        partial.write_text(html, encoding="utf-8")
        partial.replace(target)  # whole or not at all
        return str(target)

    return {
        "refresh": refresh,
        "features": features,
        "forecasts": forecasts,
        "paper": paper,
        "broker": broker,
        "monitor": monitor,
        "retrain": retrain,
        "alerts": alerts,
        "report": report,
    }


def run_routine(
    db_path: DbPath, config: RoutineConfig, *, now: pd.Timestamp | None = None
) -> RoutineResult:
    """Run every session that is due at ``now`` (default: the clock), each step once
    (module doc). RoutineBusyError when another routine is running."""
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    with routine_lock(db_path):
        with closing(open_db(db_path)) as db:
            repository = RoutineRepository(db)
            unfinished = repository.unfinished(STEPS)
            last = repository.last_session()
        sessions = sorted(set(unfinished) | set(closed_sessions(now, last)))
        steps, rows = _steps(db_path, config), []
        for day in sessions:
            with closing(open_db(db_path)) as db:
                done = RoutineRepository(db).done(day)
            stop = False
            for name in STEPS:
                if name in done:
                    rows.append((day, name, "done before", ""))
                    continue
                status, detail = _run_step(db_path, day, name, steps[name])
                rows.append((day, name, status, detail))
                if status == "failed" and name not in MAY_FAIL:
                    stop = True
                    break
            if stop:
                break
    return RoutineResult(
        tuple(sessions), pd.DataFrame(rows, columns=["session", "step", "status", "detail"])
    )


def _run_step(
    db_path: DbPath, day: pd.Timestamp, name: str, step: Callable[[pd.Timestamp], str]
) -> tuple[str, str]:
    """Run one step, recording its start and its outcome; (status, detail)."""
    with closing(open_db(db_path)) as db:
        RoutineRepository(db).start(day, name)
    try:
        status, detail = "done", step(day)
    except Skip as reason:
        status, detail = "skipped", str(reason)
    except (StoreError, ValueError, KeyError, OSError, RuntimeError) as exc:
        status, detail = "failed", f"{type(exc).__name__}: {exc}"
    with closing(open_db(db_path)) as db:
        RoutineRepository(db).finish(day, name, status, detail)
    return status, detail


def load_routine_history(db_path: DbPath, limit: int = 200) -> pd.DataFrame:
    """The routine's steps, newest first: session, step, status, detail, started_utc,
    finished_utc (the Monitor page and ``/health`` read it)."""
    with closing(open_db(db_path)) as db:
        return RoutineRepository(db).history(limit)
