"""Nothing exposed without a lock: binding beyond loopback needs one.

- the API (``python -m api``): at least one active API key (data routes always need a
  key; without any, nobody could use an exposed API but /health, so it is a mistake);
- the Streamlit app (``make run``, through ``python -m api.lock streamlit --address A``):
  Streamlit's own authentication, an ``[auth]`` table in the settings
  (.streamlit/secrets.toml, or the file ``--secrets`` / ``$WORKBENCH_SECRETS`` names) with
  ``redirect_uri``, ``cookie_secret`` and an OIDC provider's ``client_id``,
  ``client_secret`` and ``server_metadata_url`` (directly or in a named sub-table), and
  an allow-list in that table (``allowed_emails`` / ``allowed_domains``, see
  ``engine.access``): a login alone lets in any account the identity provider accepts.

A settings file that cannot be read, or an invalid allow-list, is a refusal too.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from engine import workflows

PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


class ExposureError(RuntimeError):
    """A server asked to listen beyond loopback without a lock."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and localhost; anything else (0.0.0.0, a LAN address, a name)
    can be reached from other machines."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def check_api_bind(host: str, db_path: str | None) -> None:
    """Refuse a non-loopback ``host`` while the store has no active API key."""
    if not is_loopback(host) and workflows.active_api_keys(db_path) == 0:
        raise ExposureError(
            f"refusing to serve the API on {host!r}: it is reachable beyond this machine "
            "and no active API key exists. Create one on the 'API keys' page, or bind "
            "127.0.0.1."
        )


def streamlit_auth_configured() -> bool:
    """Whether the settings configure Streamlit's OIDC login (``[auth]``)."""
    auth = workflows.load_settings().auth
    if auth is None or not auth.redirect_uri or not auth.cookie_secret:
        return False
    table = auth.model_dump()
    providers = [table, *(v for v in table.values() if isinstance(v, dict))]
    return any(all(p.get(k) for k in PROVIDER_KEYS) for p in providers)


def _app_refusal(address: str, why: str) -> ExposureError:
    secrets = workflows.load_settings().secrets_file
    return ExposureError(
        f"refusing to serve the app on {address!r}: it is reachable beyond this machine "
        f"and {why} ([auth] in {secrets}, see README 'Serving beyond this machine'), or "
        "bind 127.0.0.1."
    )


def check_streamlit_bind(address: str) -> None:
    """Refuse a non-loopback ``address`` while Streamlit auth is not configured, or is
    configured without a valid, non-empty allow-list."""
    if is_loopback(address):
        return
    try:
        configured = streamlit_auth_configured()
        allowed = workflows.allow_list()
    except ValueError as exc:  # SettingsError, AccessSettingsError: they name the setting
        raise ExposureError(
            f"refusing to serve the app on {address!r}: its settings are invalid: {exc}"
        ) from None
    if not configured:
        raise _app_refusal(address, "Streamlit authentication is not configured")
    if not allowed:
        why = (
            "login has no allow-list: any account the identity provider accepts would get "
            "in. List who may in allowed_emails and/or allowed_domains"
        )
        raise _app_refusal(address, why)


def exit_if_exposed(check: Callable[[], None]) -> None:
    """Run a bind check; on a refusal print why and exit with status 2."""
    try:
        check()
    except ExposureError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m api.lock")
    parser.add_argument("server", choices=["streamlit"])
    parser.add_argument("--address", required=True)
    parser.add_argument("--secrets", type=Path, help="the settings file (see engine.settings)")
    args = parser.parse_args(argv)
    if args.secrets:
        workflows.reload_settings(secrets_file=args.secrets)
    exit_if_exposed(lambda: check_streamlit_bind(args.address))


if __name__ == "__main__":
    main()
