"""Redaction of secrets from text that is shown or stored (alert and broker errors).

One implementation for every outbound channel: an error that echoes a request (a webhook
URL, an API key, a bearer token, a query string with a token) is shown only after
``redact``. Known secrets are replaced wherever they appear (also percent-encoded); the
shapes that carry unknown ones (``Bearer ...``, a URL's query string, ``token=...``,
``"secret_key": "..."``) are masked too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "***"
CUT_MARK = " [truncated]"
REDACT_LIMIT = 300
# "Authorization: Bearer abc", "Basic dXNlcjpwYXNz", "token abc" (GitHub style)
SCHEME_TOKEN = re.compile(r"\b(Bearer|Basic|Token)(\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# a URL's query string (and fragment): ?token=...&sig=...
URL_QUERY = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s?#'\"<>]*)[?#][^\s'\"<>]*", re.IGNORECASE)
# name=value / name: value / "name": "value" where the name says it holds a secret
SECRET_FIELD = re.compile(
    r"(\b[\w-]*(?:key|secret|token|password|passwd|signature|sig|authorization|credential)[\w-]*"
    r"[\"']?\s*[=:]\s*[\"']?)[^\s&\"',;}<>]+",
    re.IGNORECASE,
)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, the cut marked."""
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


def _variants(secrets: Iterable[str | None]) -> list[str]:
    """Each secret as written and percent-encoded, longest first (so no secret that
    contains another is left half shown)."""
    found = {v for s in secrets if s for v in (s, quote(s, safe=""), quote_plus(s))}
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | None] = (), limit: int = REDACT_LIMIT) -> str:
    """``text`` safe to show: every secret in ``secrets`` and every token-shaped value
    replaced by ``***``, then cut to ``limit`` characters (after the masking, so no cut
    leaves part of a secret).

    Parameters
    ----------
    text : str
        An error message, possibly echoing a request or an answer's body.
    secrets : iterable of str
        The values never to show (webhook URLs, passwords, API keys); empty ones ignored.
    limit : int
        The most characters returned.

    Returns
    -------
    str
        The redacted text, at most ``limit`` characters.
    """
    for secret in _variants(secrets):
        text = text.replace(secret, MASK)
    text = SCHEME_TOKEN.sub(rf"\1\2{MASK}", text)
    text = URL_QUERY.sub(rf"\1?{MASK}", text)
    text = SECRET_FIELD.sub(rf"\1{MASK}", text)
    return truncate(text, limit)
