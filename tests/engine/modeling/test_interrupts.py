"""A cancel held back while a study's storage is written; trials left RUNNING failed."""

from __future__ import annotations

import os
import signal
import threading

import optuna
import pytest

from engine.modeling.interrupts import cancel_deferred, fail_running_trials


@pytest.fixture
def cancel_raises():
    """The training job's SIGTERM handler: a cancel raises SystemExit wherever it lands."""

    def cancelled(signum, frame) -> None:
        raise SystemExit("cancelled")

    previous = signal.signal(signal.SIGTERM, cancelled)
    yield
    signal.signal(signal.SIGTERM, previous)


def cancel() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


def test_a_cancel_inside_the_block_is_raised_once_when_it_ends(cancel_raises) -> None:
    done = []
    with pytest.raises(SystemExit, match="cancelled"), cancel_deferred():
        cancel()
        cancel()  # a second click of the button
        done.append("the write went on")
    assert done == ["the write went on"]
    with pytest.raises(SystemExit, match="cancelled"):  # the handler is back in place
        cancel()


def test_nested_blocks_hold_the_cancel_until_the_outer_one_ends(cancel_raises) -> None:
    done = []
    with pytest.raises(SystemExit), cancel_deferred():
        with cancel_deferred():
            cancel()
        done.append("after the inner block")
    assert done == ["after the inner block"]


def test_an_ignored_signal_stays_ignored() -> None:
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with cancel_deferred():
            cancel()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_outside_the_main_thread_the_block_just_runs() -> None:
    errors = []

    def work() -> None:
        try:
            with cancel_deferred():
                pass
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive() and errors == []


def test_the_running_trials_of_a_stopped_study_are_failed() -> None:
    study = optuna.create_study(direction="maximize")
    study.tell(study.ask(), 1.0)
    study.ask()
    study.ask()
    assert fail_running_trials(study) == (1, 2)
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE] + [optuna.trial.TrialState.FAIL] * 2
    assert fail_running_trials(study) == ()
