"""What every use case relies on: the settings, alerts, the REST API's keys and access
list, and running work in the background.

``alerts``: alerts raised once per event, delivered to Slack, Discord, email.
``api_keys``: keys of the REST API (api/), stored hashed.
``background``: processes and threads that run while the caller goes on.
``settings``: the settings (``engine.settings``) as pages and the API read them: alerts,
the broker, the login's allow-list, the keyed sources' keys.
"""

from engine.access import AccessSettingsError, AllowList, parse_allow_list
from engine.alerts import (
    AlertSettings,
    AlertSettingsError,
    RetryPolicy,
    parse_alert_settings,
)
from engine.settings import (
    ARTIFACTS_ENV_VAR,
    SettingsError,
    WorkbenchSettings,
    load_settings,
    reload_settings,
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
from engine.workflows.platform.settings import (
    alert_settings,
    allow_list,
    broker_settings,
    login_configured,
    source_key,
)
from store.api_keys import ApiKeyRecord

__all__ = [
    "ALERT_KINDS",
    "ARTIFACTS_ENV_VAR",
    "AccessSettingsError",
    "AlertDispatch",
    "AlertSettings",
    "AlertSettingsError",
    "AllowList",
    "ApiKeyError",
    "ApiKeyRecord",
    "RetryPolicy",
    "active_api_keys",
    "alert_settings",
    "allow_list",
    "broker_settings",
    "load_settings",
    "login_configured",
    "reload_settings",
    "source_key",
    "SettingsError",
    "WorkbenchSettings",
    "authenticate",
    "create_api_key",
    "load_alerts",
    "load_api_keys",
    "parse_alert_settings",
    "parse_allow_list",
    "raise_alert",
    "revoke_api_key",
]
