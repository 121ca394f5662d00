"""REST API keys: a name, the sha256 of the token (never the token), a rate limit, when
created and when revoked. Looking a key up by its hash is the comparison: the token is
never compared character by character."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlite_utils import Database

from store.db import write_transaction
from store.migrations import utc_now


@dataclass(frozen=True)
class ApiKeyRecord:
    """One key. ``rate_limit``: requests a minute (None: the server's default)."""

    key_id: str
    name: str
    rate_limit: int | None
    created_utc: str
    revoked_utc: str | None

    @property
    def active(self) -> bool:
        return self.revoked_utc is None


_COLUMNS = "id, name, rate_limit, created_utc, revoked_utc"


def _record(row: tuple) -> ApiKeyRecord:
    return ApiKeyRecord(*row)


class ApiKeyRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, key_id: str, name: str, digest: str, rate_limit: int | None) -> None:
        with write_transaction(self.db):
            self.db.execute(
                "INSERT INTO api_keys (id, name, hash, rate_limit, created_utc) "
                "VALUES (?, ?, ?, ?, ?)",
                (key_id, name, digest, rate_limit, utc_now()),
            )

    def revoke(self, key_id: str) -> bool:
        """Revoke an active key; False when there is no active key ``key_id``."""
        with write_transaction(self.db):
            cursor = self.db.execute(
                "UPDATE api_keys SET revoked_utc = ? WHERE id = ? AND revoked_utc IS NULL",
                (utc_now(), key_id),
            )
        return cursor.rowcount == 1

    def by_hash(self, digest: str) -> ApiKeyRecord | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM api_keys WHERE hash = ?", (digest,)
        ).fetchone()
        return None if row is None else _record(row)

    def active_count(self) -> int:
        return self.db.execute(
            "SELECT COUNT(*) FROM api_keys WHERE revoked_utc IS NULL"
        ).fetchone()[0]

    def load_all(self) -> pd.DataFrame:
        """Every key (never its hash), newest first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_utc DESC, id"
        ).fetchall()
        return pd.DataFrame(
            rows, columns=["id", "name", "rate_limit", "created_utc", "revoked_utc"]
        )
