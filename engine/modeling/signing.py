"""Optional bundle signing: an HMAC-SHA256 over the manifest with this install's key.

The manifest lists the SHA-256 of every other file of the bundle, so its signature
covers the whole bundle. The key is ``$WORKBENCH_BUNDLE_KEY`` or, when that is unset,
``bundle_signing_key`` in ``.streamlit/secrets.toml`` (read with tomllib: the engine never
imports streamlit). Training signs when a key is configured; an import reports whether
the bundle is signed by this install, signed with another key, or unsigned. A signature
says who wrote a bundle; it is not needed to load one, since a bundle is data, never code.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import tomllib
from pathlib import Path

SIGNATURE = "signature"
KEY_ENV_VAR = "WORKBENCH_BUNDLE_KEY"
SECRETS_FILE = Path(__file__).resolve().parents[2] / ".streamlit" / "secrets.toml"
SECRETS_KEY = "bundle_signing_key"
SIGNED_HERE = "signed by this install"
SIGNED_ELSEWHERE = "signed with another key"
UNSIGNED = "unsigned"
_PREFIX = "hmac-sha256:"
_FORMAT = re.compile(rf"{_PREFIX}[0-9a-f]{{64}}")


def signing_key(secrets_file: Path | None = None) -> bytes | None:
    """This install's signing key, or None when none is configured.

    ``$WORKBENCH_BUNDLE_KEY`` wins; otherwise ``bundle_signing_key`` in ``secrets_file``
    (default ``SECRETS_FILE``). Raises ValueError naming the file when it cannot be read
    or its key is not a non-empty string.
    """
    if value := os.environ.get(KEY_ENV_VAR):
        return value.encode()
    path = Path(secrets_file or SECRETS_FILE)
    if not path.is_file():
        return None
    try:
        secrets = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read the bundle signing key from {path}: {exc}") from exc
    if SECRETS_KEY not in secrets:
        return None
    value = secrets[SECRETS_KEY]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{SECRETS_KEY} in {path} must be a non-empty string")
    return value.encode()


def canonical(manifest: dict) -> bytes:
    """The manifest without its signature field as canonical JSON (sorted keys, no
    whitespace, ASCII): the bytes that are signed."""
    body = {k: v for k, v in manifest.items() if k != SIGNATURE}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign_manifest(manifest: dict, key: bytes) -> str:
    """The signature field's value for ``manifest`` under ``key``."""
    return _PREFIX + hmac.new(key, canonical(manifest), hashlib.sha256).hexdigest()


def signature_status(manifest: dict, key: bytes | None) -> str:
    """``SIGNED_HERE``, ``SIGNED_ELSEWHERE`` (including a manifest changed after it was
    signed) or ``UNSIGNED``; ValueError if the signature field is malformed."""
    value = manifest.get(SIGNATURE)
    if value is None:
        return UNSIGNED
    if not isinstance(value, str) or not _FORMAT.fullmatch(value):
        raise ValueError(f"the manifest's {SIGNATURE} is not {_PREFIX}<64 hex digits>")
    if key and hmac.compare_digest(value, sign_manifest(manifest, key)):
        return SIGNED_HERE
    return SIGNED_ELSEWHERE
