"""A study stopped part-way: a cancel held back while the study's storage is written, and
the trials a stopped study (or a dead job) left RUNNING marked failed.

A training job is cancelled by SIGTERM, whose handler raises ``SystemExit`` wherever the
main thread happens to be. Raised inside Optuna's ``ask`` (the trial is created in the
storage, but its caller never learns of it) or ``tell``, or inside an RDB session
mid-commit, it would leave a trial RUNNING for good, or the SQLite file locked by the
interrupted session. Optuna's heartbeats (``RDBStorage(heartbeat_interval=...)`` with
``optuna.storages.fail_stale_trials``) are meant for ``Study.optimize``, not for the
ask-and-tell loop the tuning runs (locally or on Dask), so the clean-up is explicit.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import optuna

_CANCEL_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@contextmanager
def cancel_deferred() -> Iterator[None]:
    """Hold back a cancel (SIGTERM or SIGINT) that arrives inside the block until it ends.

    The handler that was in place when the block began then runs once, for the first
    signal that came (one whose handler is ``SIG_DFL`` is raised again, one whose handler
    is ``SIG_IGN`` is dropped), at a point where the study's bookkeeping is whole. Blocks
    nest. Python runs signal handlers in the main thread only, so elsewhere this does
    nothing.

    Yields
    ------
    None
        Inside the block a cancel is recorded, not acted on.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[tuple[int, object]] = []
    previous: dict[int, object] = {}
    try:
        for signum in _CANCEL_SIGNALS:
            if signal.getsignal(signum) is not None:  # None: set outside Python, cannot restore
                previous[signum] = signal.signal(signum, lambda n, f: held.append((n, f)))
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if held:
            signum, frame = held[0]
            handler = previous[signum]
            if handler == signal.SIG_DFL:
                signal.raise_signal(signum)
            elif callable(handler):
                handler(signum, frame)


def fail_running_trials(study: optuna.Study) -> tuple[int, ...]:
    """Mark failed every trial of ``study`` that is still RUNNING; return their numbers.

    Only for a study that nothing is still working on: the one this process is stopping,
    or the study of a job whose process is gone. A killed trial otherwise stays RUNNING
    in the storage for good.

    Parameters
    ----------
    study : optuna.Study
        The study, in any storage.

    Returns
    -------
    tuple of int
        The numbers of the trials marked failed, in order.
    """
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    with cancel_deferred():
        for trial in running:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL, skip_if_finished=True)
    return tuple(trial.number for trial in running)
