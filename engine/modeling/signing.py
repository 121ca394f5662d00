"""Optional bundle signing: an HMAC-SHA256 over the manifest with this install's key.

The manifest lists the SHA-256 of every other file of the bundle, so its signature
covers the whole bundle. The key is ``$WORKBENCH_BUNDLE_KEY`` or, when that is unset,
``bundle_signing_key`` in ``.streamlit/secrets.toml`` (read with tomllib: the engine never
imports streamlit). Training signs when a key is configured; an import reports whether
the bundle is signed by this install, signed by this install and altered since, signed with
another key, or unsigned: the manifest names the signing key by a fingerprint
(``signed_by``, itself covered by the signature), so a bundle signed here and then edited
is told apart from one signed elsewhere.

Once a key exists, imports accept only bundles signed by this install, unless
``require_signed_bundles = false`` in the secrets file (or
``$WORKBENCH_REQUIRE_SIGNED_BUNDLES=0``) says otherwise; see ``require_signed``.
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
ALTERED = "signed by this install, then altered"
UNSIGNED = "unsigned"
SIGNED_BY = "signed_by"
REQUIRE_ENV_VAR = "WORKBENCH_REQUIRE_SIGNED_BUNDLES"
REQUIRE_SECRETS_KEY = "require_signed_bundles"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
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
    path, secrets = _secrets(secrets_file)
    if SECRETS_KEY not in secrets:
        return None
    value = secrets[SECRETS_KEY]
    if not isinstance(value, str) or not value:
        raise ValueError(f"{SECRETS_KEY} in {path} must be a non-empty string")
    return value.encode()


def require_signed(secrets_file: Path | None = None) -> bool:
    """Whether imports accept only bundles signed by this install.

    ``$WORKBENCH_REQUIRE_SIGNED_BUNDLES`` (1/true/yes/on or 0/false/no/off) wins; otherwise
    ``require_signed_bundles`` (a boolean) in ``secrets_file``; otherwise on exactly when a
    signing key is configured. ValueError names a setting that cannot be read.
    """
    if (value := os.environ.get(REQUIRE_ENV_VAR)) is not None:
        if value.strip().lower() in _TRUE + _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"${REQUIRE_ENV_VAR} must be one of {', '.join(_TRUE + _FALSE)}")
    path, secrets = _secrets(secrets_file)
    if REQUIRE_SECRETS_KEY in secrets:
        if not isinstance(secrets[REQUIRE_SECRETS_KEY], bool):
            raise ValueError(f"{REQUIRE_SECRETS_KEY} in {path} must be true or false")
        return secrets[REQUIRE_SECRETS_KEY]
    return signing_key(secrets_file) is not None


def _secrets(secrets_file: Path | None) -> tuple[Path, dict]:
    """The secrets file's path and its contents ({} when there is none)."""
    path = Path(secrets_file or SECRETS_FILE)
    if not path.is_file():
        return path, {}
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read the bundle signing settings from {path}: {exc}") from exc


def key_fingerprint(key: bytes) -> str:
    """A short public name of ``key`` (not a secret: it cannot give the key back)."""
    return hashlib.sha256(b"workbench bundle signing key\0" + key).hexdigest()[:16]


def canonical(manifest: dict) -> bytes:
    """The manifest without its signature field as canonical JSON (sorted keys, no
    whitespace, ASCII): the bytes that are signed."""
    body = {k: v for k, v in manifest.items() if k != SIGNATURE}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sign_manifest(manifest: dict, key: bytes) -> str:
    """The signature field's value for ``manifest`` under ``key`` (``manifest`` should name
    the key first: ``signed_by = key_fingerprint(key)``)."""
    return _PREFIX + hmac.new(key, canonical(manifest), hashlib.sha256).hexdigest()


def signature_status(manifest: dict, key: bytes | None) -> str:
    """``SIGNED_HERE``, ``ALTERED`` (it names this install's key but its signature does not
    match: changed after it was signed here), ``SIGNED_ELSEWHERE`` (another key, or a
    manifest signed before keys were named and changed since) or ``UNSIGNED``; ValueError
    if the signature field is malformed."""
    value = manifest.get(SIGNATURE)
    if value is None:
        return UNSIGNED
    if not isinstance(value, str) or not _FORMAT.fullmatch(value):
        raise ValueError(f"the manifest's {SIGNATURE} is not {_PREFIX}<64 hex digits>")
    if key and hmac.compare_digest(value, sign_manifest(manifest, key)):
        return SIGNED_HERE
    if key and manifest.get(SIGNED_BY) == key_fingerprint(key):
        return ALTERED
    return SIGNED_ELSEWHERE
