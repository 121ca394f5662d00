"""What every use case relies on: the settings, alerts, the REST API's keys and access
list, and running work in the background.

``alerts``: alerts raised once per event, delivered to Slack, Discord, email.
``api_keys``: keys of the REST API (api/), stored hashed.
``background``: processes and threads that run while the caller goes on.
``settings``: the settings (``engine.settings``) as pages and the API read them: alerts,
the broker, the login's allow-list, the keyed sources' keys.
"""

from engine.lazy_exports import ExportTable, lazy_exports

EXPORTS: ExportTable = {
    "engine.access": (
        "AccessSettingsError",
        "AllowList",
        "parse_allow_list",
    ),
    "engine.alerts": (
        "AlertSettings",
        "AlertSettingsError",
        "RetryPolicy",
        "parse_alert_settings",
    ),
    "engine.settings": (
        "ARTIFACTS_ENV_VAR",
        "SettingsError",
        "WorkbenchSettings",
        "load_settings",
        "reload_settings",
    ),
    "engine.workflows.platform.alerts": (
        "ALERT_KINDS",
        "AlertDispatch",
        "load_alerts",
        "raise_alert",
    ),
    "engine.workflows.platform.api_keys": (
        "ApiKeyError",
        "active_api_keys",
        "authenticate",
        "create_api_key",
        "load_api_keys",
        "revoke_api_key",
    ),
    "engine.workflows.platform.settings": (
        "alert_settings",
        "allow_list",
        "broker_settings",
        "login_configured",
        "source_key",
    ),
    "store.api_keys": ("ApiKeyRecord",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, EXPORTS)
