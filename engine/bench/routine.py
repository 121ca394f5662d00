"""Routine benchmark: what the daily routine costs the machine each evening, what a retrain
adds to it, and what replaying a retraining policy over history costs, on a first-launch
store of a given model (``engine.bench.pages.first_launch_store``: the pages benchmark's
model, six large caps, unless told otherwise; built once under ``store`` and reused).

Each figure is one run (a session is routed once; a second run would do nothing):

- ``session_s``: the first session after the model's trained-through date, with no
  retraining policy (refresh from the offline sample, features, forecasts and the live
  record, the paper step, the monitor, the re-entry watch, the report);
- ``catch_up_s`` and ``catch_up_sessions``: the rest of that week, caught up in one run
  (one refresh serves them all);
- ``retrain_session_s``: the first session of the next week with a weekly policy in force,
  so due: the same steps plus a challenger trained on the champion's settings and judged
  against it (``retrain_decision``: promoted or kept);
- ``replay_s``: the static model and a quarterly policy replayed over the champion's
  history (``simulate_retraining``), ``replay_retrains`` fits in all, and
  ``replay_s_per_retrain``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pandas as pd

from engine import workflows
from engine.bench.pages import BENCH_TRAIN, _environment, first_launch_store
from engine.data.calendar import nyse_calendar
from engine.modeling.policies import RetrainPolicy
from engine.modeling.training import TrainConfig
from engine.workflows.routines.routine import RoutineConfig, run_routine


def _evening(session: pd.Timestamp) -> pd.Timestamp:
    """An hour after ``session``'s close (UTC)."""
    return nyse_calendar().session_close(session) + pd.Timedelta(hours=1)


def _timed_run(db: Path, config: RoutineConfig, session: pd.Timestamp) -> tuple[float, int]:
    """Seconds of one routine run at ``session``'s evening, and the sessions it routed;
    RuntimeError naming the step when one failed."""
    started = time.perf_counter()
    result = run_routine(db, config, now=_evening(session))
    seconds = time.perf_counter() - started
    failed = result.steps[result.steps["status"] == "failed"]
    if len(failed):
        first = failed.iloc[0]
        raise RuntimeError(f"the routine's {first['step']} step failed: {first['detail']}")
    return seconds, len(result.sessions)


def _sessions(trained_through: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    """The first session after ``trained_through``, the last session of its week, and the
    first session of the next week (when a weekly schedule is due again)."""
    calendar = nyse_calendar()
    after = calendar.sessions_in_range(
        trained_through + pd.Timedelta(days=1), trained_through + pd.Timedelta(days=21)
    )
    week = after.to_period("W-SUN")
    same = after[week == week[0]]
    return after[0], same[-1], after[week > week[0]][0]


def run_routine_bench(
    *, config: TrainConfig | None = BENCH_TRAIN, store: Path | None = None
) -> dict:
    """The figures of the module docstring, on the first-launch store of ``config`` (None:
    the default model, whose outcomes reach the sample's last sessions: too late to route
    a week after it) under ``store`` (None: a temporary folder)."""
    folder = Path(store) if store is not None else Path(tempfile.mkdtemp(prefix="routine-"))
    db, setup = first_launch_store(folder, config)
    with _environment(**{workflows.ARTIFACTS_ENV_VAR: str(folder / "artifacts")}):
        record = workflows.active_run(db)
        routine = RoutineConfig(tuple(record.params["tickers"]), "sample")
        first, week_end, next_week = _sessions(workflows.trained_through(record))
        session_s, _ = _timed_run(db, routine, first)
        catch_up_s, caught_up = _timed_run(db, routine, week_end)
        workflows.save_retrain_policy(db, RetrainPolicy("weekly", 12))
        retrain_s, retrained = _timed_run(db, routine, next_week)
        decisions = workflows.champion_history(db).events
        started = time.perf_counter()
        _, replay = workflows.simulate_retraining(db, [RetrainPolicy("quarterly", 12)])
        replay_s = time.perf_counter() - started
    retrains = int(replay.table["retrains"].sum())
    return setup | {
        "tickers": len(routine.tickers),
        "session": f"{first:%Y-%m-%d}",
        "session_s": round(session_s, 2),
        "catch_up_sessions": caught_up,
        "catch_up_s": round(catch_up_s, 2),
        "retrain_sessions": retrained,
        "retrain_session_s": round(retrain_s, 2),
        "retrain_decision": decisions["kind"].iloc[-1] if len(decisions) else "none",
        "replay_s": round(replay_s, 2),
        "replay_retrains": retrains,
        "replay_s_per_retrain": round(replay_s / retrains, 3),
    }
