"""``python -m api [--host H] [--port P] [--db PATH] [--workers 1]``: serve the API under
uvicorn, in one process.

Refuses (exit status 2) to bind beyond loopback while no active API key exists
(``api.lock``), and to start more than one worker: the rate limit (``api.security``) and
the request metrics (``api.metrics``) are counted in the serving process, so with N
workers a key would get N times its limit and each scrape of /metrics would see one
worker's share.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn

from api.app import create_app
from api.lock import check_api_bind, exit_if_exposed

SINGLE_WORKER = (
    "--workers must be 1, not {workers}: the API's rate limit and /metrics are counted in "
    "the serving process, so several workers would each allow a key its whole limit and "
    "each report only its own share of the requests"
)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--db", default=None, help="the store (default: $WORKBENCH_DB)")
    parser.add_argument("--workers", type=int, default=1, help="1, the only number allowed")
    args = parser.parse_args(argv)
    if args.workers != 1:
        parser.error(SINGLE_WORKER.format(workers=args.workers))
    exit_if_exposed(lambda: check_api_bind(args.host, args.db))
    # workers=1 explicitly: uvicorn would otherwise read $WEB_CONCURRENCY
    uvicorn.run(create_app(args.db), host=args.host, port=args.port, workers=1)


if __name__ == "__main__":
    main()
