"""API keys of the REST interface (api/): created and revoked on the API keys page.

A key is a random 32-byte token (``secrets.token_urlsafe``) shown once; the store keeps
its sha256 only, and a presented key is checked by looking its hash up (no comparison
of the secret itself, so nothing to time).
"""

from __future__ import annotations

import hashlib
import secrets
from contextlib import closing

import pandas as pd

from engine.workflows.data.prices import DbPath
from store.api_keys import ApiKeyRecord, ApiKeyRepository
from store.db import open_db

KEY_PREFIX = "wbk_"
MAX_KEY_LENGTH = 128  # longer than any key made here: refused before hashing
MAX_NAME_LENGTH = 60


class ApiKeyError(ValueError):
    """A presented key that is not accepted; the message says why, never what it was."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create_api_key(
    db_path: DbPath, name: str, rate_limit: int | None = None
) -> tuple[ApiKeyRecord, str]:
    """A new key named ``name`` (``rate_limit`` requests a minute, None: the server's
    default); returns its record and the token, which is not stored and cannot be shown
    again."""
    name = (name or "").strip()
    if not 0 < len(name) <= MAX_NAME_LENGTH:
        raise ApiKeyError(f"a key needs a name of 1-{MAX_NAME_LENGTH} characters")
    if rate_limit is not None and rate_limit < 1:
        raise ApiKeyError("a rate limit is at least one request a minute")
    token = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = secrets.token_hex(4)
    with closing(open_db(db_path)) as db:
        repository = ApiKeyRepository(db)
        repository.create(key_id, name, _digest(token), rate_limit)
        record = repository.by_hash(_digest(token))
    assert record is not None
    return record, token


def revoke_api_key(db_path: DbPath, key_id: str) -> None:
    """Revoke key ``key_id``: from now on it gets 401."""
    with closing(open_db(db_path)) as db:
        if not ApiKeyRepository(db).revoke(key_id):
            raise ApiKeyError(f"no active API key {key_id[:20]!r}")


def load_api_keys(db_path: DbPath) -> pd.DataFrame:
    """Every key, newest first: id, name, rate_limit, created_utc, revoked_utc."""
    with closing(open_db(db_path)) as db:
        return ApiKeyRepository(db).load_all()


def active_api_keys(db_path: DbPath) -> int:
    """How many keys are not revoked."""
    with closing(open_db(db_path)) as db:
        return ApiKeyRepository(db).active_count()


def authenticate(db_path: DbPath, token: str) -> ApiKeyRecord:
    """The active key ``token`` is, or ApiKeyError saying whether it is unknown or revoked."""
    if not token or len(token) > MAX_KEY_LENGTH:
        raise ApiKeyError("the API key is not valid")
    with closing(open_db(db_path)) as db:
        record = ApiKeyRepository(db).by_hash(_digest(token))
    if record is None:
        raise ApiKeyError("the API key is not valid")
    if not record.active:
        raise ApiKeyError("the API key has been revoked")
    return record
