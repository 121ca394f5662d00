"""Who may open the app once logged in: the allow-list of ``[auth]`` (pure; no UI).

Streamlit's OIDC login proves who a user is, not that they may see the workbench: any
account the identity provider accepts can log in. The allow-list says who may. It lives
in the ``[auth]`` table of .streamlit/secrets.toml, next to the login settings::

    [auth]
    allowed_emails = ["analyst@example.com"]
    allowed_domains = ["example.com"]      # every address @example.com, exactly

Emails compare case-insensitively; a domain matches only the exact part after the last
``@`` ("evil-example.com" and "example.com.evil.org" are not "example.com"; there are no
wildcards). A user with no email claim, or one the provider marks unverified
(``email_verified = false``), is never allowed. An empty allow-list allows nobody: the
app then refuses every logged-in user, and ``api.lock`` refuses to bind beyond loopback.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

EMAILS_KEY, DOMAINS_KEY = "allowed_emails", "allowed_domains"
MAX_ENTRIES = 500
EMAIL = re.compile(r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9-]+(\.[a-z0-9-]+)+")
DOMAIN = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")


class AccessSettingsError(ValueError):
    """The allow-list in ``[auth]`` is invalid; the message names the setting."""


@dataclass(frozen=True)
class AllowList:
    """The accounts allowed in: ``emails`` and ``domains``, lower case."""

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.emails or self.domains)

    def allows(self, email: object, verified: object = None) -> bool:
        """Whether the account with claim ``email`` may open the app.

        Parameters
        ----------
        email : object
            The identity provider's ``email`` claim (anything else than text: refused).
        verified : object
            Its ``email_verified`` claim: ``False`` (or "false") refuses; absent (None)
            or true accepts (not every provider sends it).

        Returns
        -------
        bool
            True when the address is listed or its domain (after the last ``@``) is.
        """
        if not isinstance(email, str) or str(verified).strip().lower() == "false":
            return False
        address = email.strip()
        if not address.isascii():  # "\u212a".lower() is "k": no look-alike folds in
            return False
        address = address.lower()
        if not EMAIL.fullmatch(address):
            return False
        return address in self.emails or address.rsplit("@", 1)[1] in self.domains


def _entries(table: Mapping[str, object], key: str, pattern: re.Pattern, what: str) -> frozenset:
    value = table.get(key, [])
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or len(items) > MAX_ENTRIES:
        raise AccessSettingsError(f"auth.{key} must be a list of at most {MAX_ENTRIES} {what}s")
    found = set()
    for item in items:
        entry = item.strip().lower().removeprefix("@") if isinstance(item, str) else None
        if entry is None or not pattern.fullmatch(entry):
            shown = repr(item)[:80]
            raise AccessSettingsError(
                f"auth.{key}: {shown} is not a plain {what} (exact values, no wildcards)"
            )
        found.add(entry)
    return frozenset(found)


def parse_allow_list(table: Mapping[str, object] | None) -> AllowList:
    """The allow-list of an ``[auth]`` table (``allowed_emails``, ``allowed_domains``;
    either a list or one text). None or no entries: the empty list, which allows nobody.
    ``AccessSettingsError`` names a bad entry."""
    if table is None:
        return AllowList()
    if not isinstance(table, Mapping):
        raise AccessSettingsError("[auth] must be a table")
    return AllowList(
        emails=_entries(table, EMAILS_KEY, EMAIL, "email address"),
        domains=_entries(table, DOMAINS_KEY, DOMAIN, "domain name"),
    )
