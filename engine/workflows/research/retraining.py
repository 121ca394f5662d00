"""The retraining manager's policy: stored, applied each session, and replayed over history.

``retrain_if_due`` is what the daily routine runs after the monitor: when the policy in
force says so (``engine.modeling.policies.retrain_reasons``) it trains a challenger on the
champion's settings as of the session, with the policy's window, and lets
``engine.workflows.modeling.champions.retrain`` promote it or keep it (every retrain is a
trial). The last training is the newer of the champion's trained-through date and the
last challenger's, so a challenger kept as a challenger is not retrained the next day; a
drift or live-performance trigger retrains at most once every ``TRIGGER_COOLDOWN``
sessions for the same reason.

``simulate_retraining`` replays the static policy and others over the champion's history
(``engine.studies.policies``), saves the study and counts each policy as a trial.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, replace

import pandas as pd

from engine.data.calendar import sessions_between
from engine.data.schema import Progress
from engine.features.panel import to_wide
from engine.modeling.policies import RetrainPolicy, retrain_reasons
from engine.modeling.training import TrainConfig
from engine.studies.policies import PolicySimulation, simulate_policies
from engine.workflows.data.prices import DbPath
from engine.workflows.data.snapshot import build_snapshot
from engine.workflows.modeling.champions import RetrainResult, champion_history, retrain
from engine.workflows.modeling.runs import active_run, load_run, run_horizon, trained_through
from engine.workflows.research.live_record import live_report
from engine.workflows.research.monitor import monitor_model
from engine.workflows.research.studies import save_study
from store.champions import RetrainPolicyRepository
from store.db import StoreError, open_db

TRIGGER_COOLDOWN = 21  # sessions between two retrains a drift or performance trigger asks for


@dataclass(frozen=True)
class RetrainCheck:
    """A session's check of the policy: why it retrained (empty: it did not), and the
    retrain's outcome (None when it did not retrain); ``message`` says which."""

    reasons: tuple[str, ...]
    result: RetrainResult | None
    message: str


def load_retrain_policy(db_path: DbPath) -> RetrainPolicy | None:
    """The policy in force (None: nothing retrains by itself)."""
    with closing(open_db(db_path)) as db:
        stored = RetrainPolicyRepository(db).get()
    return None if stored is None else RetrainPolicy.from_dict(stored)


def save_retrain_policy(db_path: DbPath, policy: RetrainPolicy | None) -> None:
    """Put ``policy`` in force (None: retrain only on request)."""
    with closing(open_db(db_path)) as db:
        RetrainPolicyRepository(db).set(None if policy is None else policy.as_dict())


def last_training(db_path: DbPath) -> pd.Timestamp | None:
    """The newest trained-through date of the champion and of the last challenger the
    manager trained (None without a champion)."""
    champion = active_run(db_path)
    if champion is None:
        return None
    dates = [trained_through(champion)]
    events = champion_history(db_path).events
    tried = events[events["kind"].isin(["promoted", "kept"])]
    if len(tried):
        dates.append(trained_through(load_run(db_path, str(tried["run_id"].iloc[-1]))))
    return max(dates)


def retrain_if_due(
    db_path: DbPath,
    day: pd.Timestamp,
    *,
    drift: tuple[str, ...] | None = None,
    progress: Progress | None = None,
) -> RetrainCheck:
    """Apply the policy in force at session ``day`` (module doc). ``drift``: the drift
    monitor's reasons to retrain at ``day`` when the caller has them (the routine's monitor
    step); None: the monitor runs here when the policy has the drift trigger. StoreError
    without a champion to retrain."""
    day = pd.Timestamp(day)
    policy = load_retrain_policy(db_path)
    if policy is None:
        return RetrainCheck((), None, "no retraining policy: retraining only on request")
    champion = active_run(db_path)
    if champion is None:
        raise StoreError("no champion to retrain: train a model and make it active first")
    last = last_training(db_path)
    if not policy.on_drift:
        drift = ()
    elif drift is None:
        report = monitor_model(db_path, day)
        drift = report.reasons if report.retrain else ()
    standing = live_report(db_path, as_of=day).standing if policy.on_performance else "unjudged"
    reasons = retrain_reasons(policy, day, last, drift=drift, live_standing=standing)
    scheduled = bool(reasons) and "schedule" in reasons[0]
    recent = last is not None and len(sessions_between(last, day)) <= TRIGGER_COOLDOWN
    if reasons and not scheduled and recent:
        return RetrainCheck(
            (),
            None,
            f"{'; '.join(reasons)}, but the last training ({last:%Y-%m-%d}) is within "
            f"{TRIGGER_COOLDOWN} sessions: not retrained again yet",
        )
    if not reasons:
        return RetrainCheck((), None, f"not due ({policy.describe()})")
    config = replace(
        TrainConfig.from_dict(champion.params), as_of=day, train_months=policy.window_months
    )
    result = retrain(db_path, config, progress=progress)
    outcome = "promoted" if result.promoted else "kept as a challenger"
    message = (
        f"retrained ({'; '.join(reasons)}): {result.challenger.run_id} {outcome}: {result.reason}"
    )
    return RetrainCheck(tuple(reasons), result, message)


def simulate_retraining(
    db_path: DbPath,
    policies: Sequence[RetrainPolicy],
    *,
    run_id: str | None = None,
    start: pd.Timestamp | None = None,
    progress: Progress | None = None,
) -> tuple[int, PolicySimulation]:
    """Replay the static policy and ``policies`` over the history of a run (the champion
    by default: its tickers, labels, learner settings and data as of its own as-of date)
    from ``start`` (default: the run's first labelled date plus the longest window and a
    month); save the study and count each policy as a trial; the study's id and result."""
    record = load_run(db_path, run_id) if run_id else active_run(db_path)
    if record is None:
        raise StoreError("no champion: choose a run to replay the policies on")
    config = TrainConfig.from_dict(record.params)
    snapshot = build_snapshot(db_path, config.tickers, config.as_of)
    data = snapshot.training_rows(config)
    first = data.index.get_level_values("date").min()
    longest = max([18, *(p.window_months for p in policies)])
    start = start if start is not None else first + pd.DateOffset(months=longest + 1)
    panel = to_wide(snapshot.prices[snapshot.prices["ticker"].isin(config.tickers)])
    result = simulate_policies(
        data,
        panel,
        policies,
        config.learner,
        start=pd.Timestamp(start),
        horizon=run_horizon(record),
        n_boot=config.n_boot,
        progress=progress,
    )
    settings = {
        "run_id": record.run_id,
        "start": f"{pd.Timestamp(start):%Y-%m-%d}",
        "policies": [p.as_dict() for p in policies],
    }
    study_id = save_study(
        db_path,
        "policy",
        settings,
        result.table,
        result.daily.reset_index().assign(date=lambda f: f["date"].dt.strftime("%Y-%m-%d")),
        returns={f"policy {name}": r for name, r in result.returns.items()},
    )
    return study_id, result
