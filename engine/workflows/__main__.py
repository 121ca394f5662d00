"""``python -m engine.workflows seed``: build the store from the offline sample and train
the default model on it (what ``make run`` does before it serves the app)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from engine.workflows.routines.first_launch import ensure_ready


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m engine.workflows seed [--no-train]``; a no-op once both are done."""
    parser = argparse.ArgumentParser(prog="python -m engine.workflows")
    parser.add_argument("command", choices=["seed"])
    parser.add_argument("--db", default=None, help="database path (default: $WORKBENCH_DB)")
    parser.add_argument(
        "--no-train", action="store_true", help="only build the store; train no model"
    )
    args = parser.parse_args(argv)

    def progress(fraction: float, text: str) -> None:
        print(f"[{fraction:4.0%}] {text}", flush=True)

    result = ensure_ready(args.db, train=not args.no_train, progress=progress)
    print(result.message, flush=True)


if __name__ == "__main__":
    try:
        main()
    except (ValueError, OSError) as exc:  # a busy training lock, an unreadable store
        sys.exit(f"python -m engine.workflows: error: {exc}")
