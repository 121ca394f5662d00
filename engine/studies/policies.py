"""Retraining policies replayed over history: the record each would have produced.

Every policy forecasts the same sessions, from the simulation's start to the newest
labelled one, with the same learner settings and rows; only when it retrains, and on
which window, differ (``engine.modeling.policies.ScheduledRetrain``). The static policy
(trained once, at the start) is the baseline every other is compared with.

Each row reports, out of sample and with Bonferroni-adjusted intervals over the rows:

- the mean daily rank IC (score against the excess return) with its moving-block
  interval, and its difference from the static policy's on the same sessions (paired
  blocks of sessions, as a challenger is judged: ``engine.modeling.challenge``);
- top-k after costs: the default construction traded through the execution model, its
  daily net return over the equal-weight universe's (annualized, moving blocks of
  ``RETURN_BLOCK`` sessions), its net Sharpe, and the Deflated Sharpe over every policy
  simulated (each is a trial);
- how many times it retrained.

Only the schedule is replayed: a drift or live-performance trigger depends on what the
monitor and the live record would have said each day, which the replay does not rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from engine.data.schema import Progress, scaled_progress
from engine.features.panel import WidePanel
from engine.metrics import (
    N_BOOT,
    TRADING_DAYS,
    Interval,
    bootstrap_interval,
    deflated_sharpes,
    ic_block,
    sharpe,
)
from engine.modeling.challenge import rank_ic_by_date
from engine.modeling.evaluation import walk_forward
from engine.modeling.learners import LearnerParams
from engine.modeling.policies import RetrainPolicy, ScheduledRetrain
from engine.modeling.tuning import trial_returns
from engine.studies.zoo import interval_columns, universe_returns

STATIC = RetrainPolicy(cadence="static")
RETURN_BLOCK = 21  # sessions per resampled block of daily returns
MAX_POLICIES = 6


@dataclass(frozen=True)
class PolicySimulation:
    """``table``: one row per policy, the static baseline first; ``daily``: each policy's
    rank IC by session (columns: the policies' descriptions); ``returns``: each policy's
    daily net returns (the trials)."""

    table: pd.DataFrame
    daily: pd.DataFrame
    returns: dict[str, pd.Series]


def _verdict(difference: Interval) -> str:
    if difference.low > 0:
        return "better than static beyond the interval"
    if difference.high < 0:
        return "worse than static beyond the interval"
    return "no difference from static shown"


def simulate_policies(
    data: pd.DataFrame,
    panel: WidePanel,
    policies: Sequence[RetrainPolicy],
    learner: LearnerParams,
    *,
    start: pd.Timestamp,
    horizon: int,
    n_boot: int = N_BOOT,
    progress: Progress | None = None,
) -> PolicySimulation:
    """Replay the static policy and each of ``policies`` from ``start`` on ``make_dataset``
    output ``data`` (and the price panel of its tickers), with ``learner``'s settings.

    ValueError when a policy is given twice, when there are more than ``MAX_POLICIES``, or
    when ``start`` leaves too little history before it to train on.
    """
    schedules = [STATIC, *(replace(p, on_drift=False, on_performance=False) for p in policies)]
    names = [p.describe() for p in schedules]
    if len(set(names)) != len(names):
        raise ValueError("each policy may be simulated once (the static one is always the first)")
    if len(schedules) > MAX_POLICIES:
        raise ValueError(f"simulate at most {MAX_POLICIES - 1} policies besides the static one")
    frames = {}
    for k, (name, policy) in enumerate(zip(names, schedules, strict=True)):
        splitter = ScheduledRetrain(start, policy.cadence, policy.window_months)
        step = scaled_progress(progress, k / len(names), (k + 1) / len(names), f"{name}: ")
        frames[name] = walk_forward(data, splitter, learner, step).predictions
    daily = pd.DataFrame({name: rank_ic_by_date(frame) for name, frame in frames.items()})
    level = 1.0 - 0.05 / len(names)
    block = ic_block(horizon)
    universe = universe_returns(panel)
    returns = {name: trial_returns(panel, frame, learner.kind) for name, frame in frames.items()}
    deflated = deflated_sharpes(returns)
    rows = []
    for name, frame in frames.items():
        ic = daily[name].dropna().to_numpy()
        paired = (daily[name] - daily[names[0]]).dropna().to_numpy()
        net = returns[name]
        excess = (net - universe.reindex(net.index)).dropna().to_numpy()
        annual = bootstrap_interval(
            lambda x: float(np.mean(x)) * TRADING_DAYS,
            excess,
            block=RETURN_BLOCK,
            n_boot=n_boot,
            level=level,
        )
        rank_ic = bootstrap_interval(np.mean, ic, block=block, n_boot=n_boot, level=level)
        difference = bootstrap_interval(np.mean, paired, block=block, n_boot=n_boot, level=level)
        rows.append(
            {
                "policy": name,
                "retrains": int(frame["fold"].nunique()),
                "sessions": len(ic),
                **interval_columns("rank_ic", rank_ic),
                **interval_columns("vs_static", difference),
                "verdict": "the baseline" if name == names[0] else _verdict(difference),
                **interval_columns("excess", annual),
                "net_sharpe": sharpe(net.to_numpy()),
                "deflated_sharpe": deflated[name],
            }
        )
    daily.index.name = "date"
    return PolicySimulation(pd.DataFrame(rows), daily, returns)
