"""The settings as the pages, the API and the scripts read them (``engine.settings``
merges them: command line > environment > .streamlit/secrets.toml > defaults).

Each section is validated by its own rules when it is asked for, so a bad alert setting
turns alerts off without stopping the rest; every error is a ValueError naming the
setting, never its value."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from engine.access import AllowList, parse_allow_list
from engine.alerts import AlertSettings, parse_alert_settings
from engine.settings import load_settings, revealed

if TYPE_CHECKING:
    from engine.trading.broker import BrokerSettings


def alert_settings() -> AlertSettings:
    """Where alerts go; AlertSettingsError or SettingsError names a bad setting."""
    return parse_alert_settings(revealed(load_settings().alerts))


def broker_settings() -> BrokerSettings:
    """How to reach the broker (dry run unless set); BrokerSettingsError or SettingsError
    names a bad setting, never a key."""
    # here, not at the top: the exposure check (api.lock) reads this module's allow-list
    # before `make run` serves, and the broker client would triple its start-up
    from engine.trading.broker import parse_broker_settings  # noqa: PLC0415

    return parse_broker_settings(revealed(load_settings().broker))


def login_configured() -> bool:
    """Whether the settings hold an ``[auth]`` table (Streamlit's login)."""
    return load_settings().auth is not None


def allow_list() -> AllowList:
    """Who may open the app once logged in; AccessSettingsError names a bad entry."""
    auth = load_settings().auth
    return parse_allow_list(None if auth is None else revealed(auth))


def source_key(source: Literal["fred", "finnhub"]) -> str | None:
    """The API key of a keyed source, None when none is configured."""
    key = getattr(load_settings().sources, f"{source}_api_key")
    return key.get_secret_value() if key is not None else None
