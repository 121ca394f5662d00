"""``python -m engine.workflows seed``: build the store from the offline sample."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from engine.workflows.data import ensure_seeded
from store.watchlists import WatchlistError as WatchlistError  # raised to pages


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m engine.workflows seed``: build the store from the offline sample."""
    parser = argparse.ArgumentParser(prog="python -m engine.workflows")
    parser.add_argument("command", choices=["seed"])
    parser.add_argument("--db", default=None, help="database path (default: $WORKBENCH_DB)")
    args = parser.parse_args(argv)
    result = ensure_seeded(args.db, progress=lambda f, text: print(f"[{f:4.0%}] {text}"))
    print(result.message if result else "Store already built; nothing to do.")


if __name__ == "__main__":
    main()
