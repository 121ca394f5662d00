"""Optional bundle signing: an HMAC-SHA256 over the manifest with this install's key.

The manifest lists the SHA-256 of every other file of the bundle, so its signature
covers the whole bundle. The key is a setting (``engine.settings``:
``$WORKBENCH_BUNDLE_KEY`` or ``bundle_signing_key`` in ``.streamlit/secrets.toml``).
Training signs when a key is configured; an import reports whether the bundle is signed by
this install, signed by this install and altered since, signed with another key, or
unsigned: the manifest names the signing key by a fingerprint
(``signed_by``, itself covered by the signature), so a bundle signed here and then edited
is told apart from one signed elsewhere.

Once a key exists, imports accept only bundles signed by this install, unless
``require_signed_bundles = false`` in the secrets file (or
``$WORKBENCH_REQUIRE_SIGNED_BUNDLES=0``) says otherwise (see
``engine.settings.SigningSection``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

SIGNATURE = "signature"
SIGNED_HERE = "signed by this install"
SIGNED_ELSEWHERE = "signed with another key"
ALTERED = "signed by this install, then altered"
UNSIGNED = "unsigned"
SIGNED_BY = "signed_by"
_PREFIX = "hmac-sha256:"
_FORMAT = re.compile(rf"{_PREFIX}[0-9a-f]{{64}}")


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
