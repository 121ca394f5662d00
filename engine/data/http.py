"""JSON over HTTP for the keyed live sources (FRED, Finnhub): errors a user can act on.

Every failure becomes a ``SourceError`` whose message names the source and what was asked
for (a series, a ticker) and never the request URL, which carries the API key. A rate
limit (HTTP 429) is retried with bounded exponential backoff and jitter; ``sleep`` is
injectable so tests run the retries instantly. A request that fails leaves nothing behind:
callers store only after every request of a refresh has succeeded.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import requests

TIMEOUT_S = 20.0


class SourceError(RuntimeError):
    """A live source refused or garbled a request; the message says which and why."""


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """Seconds to wait after failed attempt ``attempt`` (0-based): capped exponential with
    "equal jitter" (half fixed, half random)."""
    delay = min(cap_s, base_s * 2**attempt)
    return delay / 2 + rng.uniform(0, delay / 2)


def require_key(key: str | None, source: str, env_var: str) -> str:
    """``key`` without surrounding blanks; SourceError saying where to set it when empty."""
    if not key or not key.strip():
        raise SourceError(f"{source}: no API key; set {env_var} or add it to secrets")
    return key.strip()


@dataclass
class JsonClient:
    """GETs JSON from one source with retries on rate limits.

    ``session`` is a ``requests.Session`` (tests mount a recorded-response adapter on it).
    """

    source: str
    session: requests.Session = field(default_factory=requests.Session)
    sleep: Callable[[float], None] = time.sleep
    max_attempts: int = 4
    base_delay_s: float = 2.0
    max_delay_s: float = 30.0
    seed: int | None = None

    def __post_init__(self) -> None:
        self.random = random.Random(self.seed)

    def get(self, url: str, params: Mapping[str, str], what: str) -> object:
        """The decoded JSON answer to ``url`` with ``params``; ``what`` names the request
        in messages ("series DGS10", "AAPL news")."""
        for attempt in range(self.max_attempts):
            try:
                response = self.session.get(url, params=dict(params), timeout=TIMEOUT_S)
            except requests.RequestException as exc:
                raise SourceError(
                    f"{self.source}: {what}: no answer ({type(exc).__name__})"
                ) from exc
            if response.status_code != 429:
                return self._decode(response, what)
            if attempt + 1 < self.max_attempts:
                self.sleep(backoff_delay(attempt, self.base_delay_s, self.max_delay_s, self.random))
        raise SourceError(
            f"{self.source}: {what}: rate limit reached (HTTP 429) after {self.max_attempts} "
            "attempts with backoff; nothing was stored, try again in a minute"
        )

    def _decode(self, response: requests.Response, what: str) -> object:
        detail = _detail(response)
        # FRED answers a bad key with 400 and an error_message about api_key
        refused = response.status_code == 400 and "api_key" in detail
        if response.status_code in (401, 403) or refused:
            raise SourceError(
                f"{self.source}: {what}: the API key was refused (HTTP {response.status_code}"
                f"{detail}); check the key"
            )
        if response.status_code >= 400:
            raise SourceError(f"{self.source}: {what}: HTTP {response.status_code}{detail}")
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError) as exc:
            raise SourceError(f"{self.source}: {what}: the answer is not valid JSON") from exc


def _detail(response: requests.Response) -> str:
    """The source's own error text, when it sent one (FRED: error_message, Finnhub: error)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()[:200]
        return f": {text}" if text else ""
    if isinstance(body, dict):
        message = body.get("error_message") or body.get("error")
        if message:
            return f": {str(message)[:200]}"
    return ""
