"""``python -m engine.workflows seed``: build the store from the offline sample and start
the default model's training in the background (what ``make run`` and ``make api`` do
before they serve; neither waits for the model).

``python -m engine.workflows daily``: the daily routine (``engine.workflows.routines.
routine``): every session whose close has passed and is not done yet, each step once. For
cron or a systemd timer (docs/operations.md); exit status 1 when a step failed, 2 when
another routine holds the lock or a setting is wrong."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pandas as pd

from engine.workflows.data.prices import DEFAULT_WATCHLIST, load_watchlist, store_path
from engine.workflows.routines.first_launch import ensure_ready


def _seed(args: argparse.Namespace) -> int:
    def progress(fraction: float, text: str) -> None:
        print(f"[{fraction:4.0%}] {text}", flush=True)

    result = ensure_ready(args.db or store_path(), train=not args.no_train, progress=progress)
    print(result.message, flush=True)
    return 0


def _daily(args: argparse.Namespace) -> int:
    # here, not at the top: the routine reaches the broker client, which would slow the
    # seed command that `make run` waits for
    from engine.workflows.platform.settings import alert_settings, broker_settings  # noqa: PLC0415
    from engine.workflows.routines.routine import RoutineConfig, run_routine  # noqa: PLC0415

    db = args.db or store_path()
    tickers = load_watchlist(db, args.watchlist)
    if not tickers:
        raise ValueError(f"the watchlist {args.watchlist!r} is empty or does not exist")
    broker = broker_settings() if args.broker else None
    config = RoutineConfig(tuple(tickers), args.source, alert_settings(), broker)
    result = run_routine(db, config, now=None if args.now is None else pd.Timestamp(args.now))
    if result.steps.empty:
        print("Nothing to do: every session whose close has passed is done.", flush=True)
    for row in result.steps.itertuples():
        print(f"{row.session:%Y-%m-%d} {row.step:<9} {row.status:<11} {row.detail}", flush=True)
    return 0 if result.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m engine.workflows seed [--no-train]`` (a no-op once the store has a
    complete model run or a training job running) or ``daily [--watchlist ...]``."""
    parser = argparse.ArgumentParser(prog="python -m engine.workflows")
    parser.add_argument("command", choices=["seed", "daily"])
    parser.add_argument(
        "--db", default=None, help="database path (default: the db_path setting, $WORKBENCH_DB)"
    )
    parser.add_argument(
        "--no-train", action="store_true", help="seed: only build the store; start no training"
    )
    parser.add_argument(
        "--watchlist", default=DEFAULT_WATCHLIST, help="daily: the tickers it trades"
    )
    parser.add_argument("--source", default="sample", help="daily: sample, yfinance or csv")
    parser.add_argument(
        "--broker", action="store_true", help="daily: mirror the paper orders to the broker"
    )
    parser.add_argument("--now", default=None, help="daily: the clock, ISO (tests, replays)")
    args = parser.parse_args(argv)
    return _seed(args) if args.command == "seed" else _daily(args)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, OSError, RuntimeError) as exc:  # a busy lock, a bad setting
        print(f"python -m engine.workflows: error: {exc}", file=sys.stderr)
        sys.exit(2)
