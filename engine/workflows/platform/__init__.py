"""What every use case relies on: alerts, the REST API's keys and access list, and running
work in the background.

``alerts``: alerts raised once per event, delivered to Slack, Discord, email.
``api_keys``: keys of the REST API (api/), stored hashed.
``background``: processes and threads that run while the caller goes on.
"""

from engine.access import AccessSettingsError, AllowList, parse_allow_list
from engine.alerts import (
    AlertSettings,
    AlertSettingsError,
    RetryPolicy,
    alert_settings_from_env,
    parse_alert_settings,
)
from engine.workflows.platform.alerts import ALERT_KINDS, AlertDispatch, load_alerts, raise_alert
from engine.workflows.platform.api_keys import (
    ApiKeyError,
    active_api_keys,
    authenticate,
    create_api_key,
    load_api_keys,
    revoke_api_key,
)
from store.api_keys import ApiKeyRecord

__all__ = [
    "ALERT_KINDS",
    "AccessSettingsError",
    "AlertDispatch",
    "AlertSettings",
    "AlertSettingsError",
    "AllowList",
    "ApiKeyError",
    "ApiKeyRecord",
    "RetryPolicy",
    "active_api_keys",
    "alert_settings_from_env",
    "authenticate",
    "create_api_key",
    "load_alerts",
    "load_api_keys",
    "parse_alert_settings",
    "parse_allow_list",
    "raise_alert",
    "revoke_api_key",
]
