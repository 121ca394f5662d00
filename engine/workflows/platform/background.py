"""Running work in the background, in one place: a process of its own (a training job)
that outlives the request that started it, and threads for work the caller never waits on
(alert deliveries)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def start_process(command: Sequence[str], log: Path, *, cwd: Path, env: Mapping[str, str]) -> int:
    """Start ``command`` in a session (process group) of its own, its stdout and stderr
    written to ``log``; return its pid. Raises OSError when it cannot start."""
    with open(log, "wb") as out:
        child = subprocess.Popen(
            list(command),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,  # the job may outlive the command that started it
            cwd=cwd,
            env=dict(env),
            start_new_session=True,
        )
    return child.pid


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs; a finished child of ours is reaped."""
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:  # not our child: ask the kernel whether it exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def stop_process_group(pid: int) -> None:
    """SIGTERM to the process group that ``start_process`` gave ``pid``; gone is fine."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)


def start_thread(target: Callable[..., object], *args: object, name: str) -> threading.Thread:
    """Run ``target(*args)`` in a started thread; the caller may ``join`` it, or not."""
    thread = threading.Thread(target=target, args=args, name=name)
    thread.start()
    return thread
