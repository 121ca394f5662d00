"""``python -m api [--host H] [--port P] [--db PATH]``: serve the API under uvicorn.

Refuses (exit status 2) to bind beyond loopback while no active API key exists
(``api.lock``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from api.app import create_app
from api.lock import check_api_bind, exit_if_exposed


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--db", default=None, help="the store (default: $WORKBENCH_DB)")
    args = parser.parse_args(argv)
    exit_if_exposed(lambda: check_api_bind(args.host, args.db))
    uvicorn.run(create_app(args.db), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
