"""``python -m engine.workflows seed``: build the store from the offline sample and start
the default model's training in the background (what ``make run`` and ``make api`` do
before they serve; neither waits for the model)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine.workflows.data.prices import store_path
from engine.workflows.routines.first_launch import ensure_ready


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m engine.workflows seed [--no-train]``; a no-op once the store has a
    complete model run or a training job running."""
    parser = argparse.ArgumentParser(prog="python -m engine.workflows")
    parser.add_argument("command", choices=["seed"])
    parser.add_argument(
        "--db", default=None, help="database path (default: the db_path setting, $WORKBENCH_DB)"
    )
    parser.add_argument(
        "--no-train", action="store_true", help="only build the store; start no training"
    )
    args = parser.parse_args(argv)

    def progress(fraction: float, text: str) -> None:
        print(f"[{fraction:4.0%}] {text}", flush=True)

    result = ensure_ready(args.db or store_path(), train=not args.no_train, progress=progress)
    print(result.message, flush=True)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError) as exc:  # a busy training lock, an unreadable store
        sys.exit(f"python -m engine.workflows: error: {exc}")
