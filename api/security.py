"""API keys on every data route, and the per-key rate limit.

A key comes as ``Authorization: Bearer <key>`` or ``X-API-Key: <key>`` (one of them, once)
and is checked by ``workflows.authenticate`` (a lookup of its sha256). The rate limit is
a sliding window of one minute per key, counted in this process. That is exact because the
API serves one process (``python -m api`` refuses ``--workers`` above 1, as the metrics
registry needs too): a shared limiter (the ``limits`` package) would only pay with several
workers, and then only over a shared store (Redis, Memcached) this project does not run.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from fastapi import HTTPException, Request

from engine import workflows

WINDOW_S = 60.0
CHALLENGE = {"WWW-Authenticate": "Bearer"}


class RateLimiter:
    """At most ``limit`` requests per key in any ``WINDOW_S`` seconds (a sliding log)."""

    def __init__(self, default_limit: int) -> None:
        if default_limit < 1:
            raise ValueError("the rate limit is at least one request a minute")
        self.default_limit = default_limit
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, key_id: str, limit: int | None) -> int | None:
        """Count a request of ``key_id``; None if allowed, else seconds until one is."""
        limit = limit or self.default_limit
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key_id, deque())
            while hits and hits[0] <= now - WINDOW_S:
                hits.popleft()
            if len(hits) >= limit:
                return max(1, math.ceil(hits[0] + WINDOW_S - now))
            hits.append(now)
        return None


def _presented_key(request: Request) -> str:
    """The one key the request carries, or 401 saying what is wrong with the headers."""
    bearer = request.headers.getlist("authorization")
    plain = request.headers.getlist("x-api-key")
    if not bearer and not plain:
        raise HTTPException(
            401,
            "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers=CHALLENGE,
        )
    if len(bearer) + len(plain) > 1:
        raise HTTPException(401, "send one API key in one header, not several", headers=CHALLENGE)
    if plain:
        return plain[0].strip()
    scheme, _, token = bearer[0].strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(
            401, "the Authorization header must be 'Bearer <key>'", headers=CHALLENGE
        )
    return token.strip()


def require_key(request: Request) -> workflows.ApiKeyRecord:
    """The dependency of every data route: an active key within its rate limit."""
    token = _presented_key(request)
    try:
        record = workflows.authenticate(request.app.state.db_path, token)
    except workflows.ApiKeyError as exc:
        raise HTTPException(401, str(exc), headers=CHALLENGE) from None
    wait = request.app.state.limiter.retry_after(record.key_id, record.rate_limit)
    if wait is not None:
        limit = record.rate_limit or request.app.state.limiter.default_limit
        raise HTTPException(
            429,
            f"rate limit of {limit} requests a minute reached: retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    return record
