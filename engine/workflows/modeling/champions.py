"""The champion and its challengers: a retrain trains a challenger, which replaces the
champion (the active run) only when its out-of-sample figures over the same recent
window are not worse beyond their interval (``engine.modeling.challenge``); every
comparison is a trial; the last ``KEPT_CHAMPIONS`` champions are kept for rollback.

Nothing here deletes a bundle: the history records which champions are kept, and a
rollback makes the previous one active again.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.data.schema import Progress
from engine.metrics import N_BOOT, ic_block
from engine.modeling.challenge import (
    WINDOW_SESSIONS,
    ChallengeVerdict,
    judge_challenger,
    rank_ic_by_date,
)
from engine.modeling.training import TrainConfig
from engine.workflows.data.prices import DbPath
from engine.workflows.modeling.runs import (
    active_run,
    load_oos_predictions,
    run_horizon,
    train_model,
)
from engine.workflows.modeling.trials import record_trial
from store.champions import ChampionRepository
from store.db import StoreError, open_db, write_transaction
from store.models import ModelRun, ModelRunRepository

KEPT_CHAMPIONS = 3  # the champions a rollback can return to, the current one included


@dataclass(frozen=True)
class ChampionHistory:
    """Every champion decision, oldest first (``store.champions.CHAMPION_COLUMNS``), and
    the kept champions: the last ``KEPT_CHAMPIONS`` in the order they became champion
    (a rollback removes the one it replaces), the current champion last."""

    events: pd.DataFrame
    kept: tuple[str, ...]

    @property
    def current(self) -> str | None:
        return self.kept[-1] if self.kept else None

    @property
    def previous(self) -> str | None:
        """The champion a rollback makes active again (None: nothing to roll back to)."""
        return self.kept[-2] if len(self.kept) > 1 else None


@dataclass(frozen=True)
class RetrainResult:
    """One retrain: the challenger it trained, the champion before and after it, the
    comparison (None when there was no champion to compare with) and why."""

    challenger: ModelRun
    previous_champion_id: str | None
    champion_id: str
    verdict: ChallengeVerdict | None
    promoted: bool
    reason: str


def compare_challenger(
    db_path: DbPath,
    challenger_id: str,
    champion_id: str,
    *,
    window_sessions: int = WINDOW_SESSIONS,
) -> ChallengeVerdict:
    """Judge a challenger against the champion on the last ``window_sessions`` sessions
    both have out of sample (``engine.modeling.challenge.judge_challenger``): the mean
    daily rank-IC difference with a moving-block interval (``ic_block`` of the longer
    label horizon, ``N_BOOT`` replicates). Counted as a trial of kind ``"retrain"`` (with
    no Sharpe of its own: its evidence is rank IC, not returns)."""
    challenger_predictions, challenger = load_oos_predictions(db_path, challenger_id)
    champion_predictions, champion = load_oos_predictions(db_path, champion_id)
    verdict = judge_challenger(
        rank_ic_by_date(challenger_predictions),
        rank_ic_by_date(champion_predictions),
        challenger_id=challenger.run_id,
        champion_id=champion.run_id,
        window_sessions=window_sessions,
        block=ic_block(max(run_horizon(challenger), run_horizon(champion))),
        n_boot=N_BOOT,
    )
    label = f"{challenger.run_id} against {champion.run_id}"
    record_trial(db_path, "retrain", label, np.array([]))
    return verdict


def retrain(
    db_path: DbPath,
    config: TrainConfig,
    *,
    window_sessions: int = WINDOW_SESSIONS,
    progress: Progress | None = None,
) -> RetrainResult:
    """Train a challenger on ``config`` and promote it or keep it as a challenger.

    Every retrain is a trial (``"retrain"``). With no champion (no active run) the
    challenger becomes the champion. Otherwise it is compared with the champion
    (``compare_challenger``) and made active only when not worse beyond the interval;
    either way the decision and its reason are recorded. StoreError when the active run
    changed while the challenger trained (nothing is decided then).
    """
    champion = active_run(db_path)
    challenger = train_model(db_path, config, progress=progress)
    if champion is None:
        reason = "no champion yet: the first challenger becomes the champion"
        record_trial(db_path, "retrain", f"{challenger.run_id} (no champion)", np.array([]))
        _decide(db_path, "promoted", challenger.run_id, None, reason)
        return RetrainResult(challenger, None, challenger.run_id, None, True, reason)
    verdict = compare_challenger(
        db_path, challenger.run_id, champion.run_id, window_sessions=window_sessions
    )
    kind = "promoted" if verdict.promote else "kept"
    _decide(db_path, kind, challenger.run_id, champion.run_id, verdict.reason)
    after = challenger.run_id if verdict.promote else champion.run_id
    return RetrainResult(
        challenger, champion.run_id, after, verdict, verdict.promote, verdict.reason
    )


def champion_history(db_path: DbPath) -> ChampionHistory:
    """The champion decisions and the kept champions (see ``ChampionHistory``)."""
    with closing(open_db(db_path)) as db:
        events = ChampionRepository(db).history()
    return ChampionHistory(events, _kept(events))


def rollback(db_path: DbPath, *, reason: str = "rolled back on request") -> str:
    """Make the previous champion active again and record it; return its run id.

    StoreError naming why when there is no previous champion, or when the active run is
    not the recorded champion (another run was made active outside the retraining
    manager: make the champion active again first).
    """
    with closing(open_db(db_path)) as db, write_transaction(db):
        runs, champions = ModelRunRepository(db), ChampionRepository(db)
        kept = _kept(champions.history())
        if len(kept) < 2:
            raise StoreError(
                "no previous champion to roll back to: "
                + ("no champion is recorded yet" if not kept else f"{kept[0]} is the first")
            )
        current, previous = kept[-1], kept[-2]
        active = runs.active()
        if active is None or active.run_id != current:
            shown = "no run" if active is None else f"run {active.run_id}"
            raise StoreError(
                f"{shown} is active, not the champion {current}: it was made active outside "
                "the retraining manager, so there is no champion to roll back from"
            )
        runs.activate(previous)
        champions.record("rollback", previous, current, reason)
    return previous


def _decide(db_path: DbPath, kind: str, run_id: str, champion_id: str | None, reason: str) -> None:
    """Record a decision, making ``run_id`` active when promoted, in one transaction;
    refused when the active run is no longer ``champion_id``."""
    with closing(open_db(db_path)) as db, write_transaction(db):
        runs = ModelRunRepository(db)
        active = runs.active()
        if (None if active is None else active.run_id) != champion_id:
            raise StoreError(
                f"the champion changed while the challenger {run_id} trained (it was "
                f"{champion_id}): compare the challenger with the new champion"
            )
        if kind == "promoted":
            runs.activate(run_id)
        ChampionRepository(db).record(kind, run_id, champion_id, reason)


def _kept(events: pd.DataFrame) -> tuple[str, ...]:
    """The last ``KEPT_CHAMPIONS`` champions from the decisions, oldest first: a promotion
    adds the challenger (after the champion it replaced, when that one was made active
    outside the manager), a rollback removes the champion it replaces."""
    kept: list[str] = []
    for kind, run_id, previous in events[["kind", "run_id", "previous_run_id"]].itertuples(
        index=False
    ):
        if kind == "promoted":
            if not pd.isna(previous) and (not kept or kept[-1] != previous):
                kept.append(previous)
            kept.append(run_id)
        elif kind == "rollback":
            kept = kept[:-1]
            if not kept or kept[-1] != run_id:
                kept.append(run_id)
        kept = kept[-KEPT_CHAMPIONS:]
    return tuple(kept)
