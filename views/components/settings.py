"""Settings the pages read from Streamlit secrets, else from the environment: alerts and
the broker (and the alert log that shows where alerts go). The engine takes the parsed
settings objects; only pages touch st.secrets."""

import os

import streamlit as st

from engine import workflows


def _settings(name: str, from_env, parse, error: type[Exception], show):
    """Settings from the ``[name]`` table of Streamlit secrets (``parse``), else from the
    environment (``from_env``); an invalid one is shown with ``show`` and gives None."""
    try:
        table = st.secrets.get(name)
    except FileNotFoundError:  # no secrets.toml
        table = None
    try:
        return from_env(os.environ) if table is None else parse(dict(table))
    except error as exc:
        show(exc)
        return None


def broker_settings() -> workflows.BrokerSettings | None:
    """Broker settings from ``[broker]`` in Streamlit secrets, else ``WORKBENCH_BROKER_MODE``
    and the ``ALPACA_*`` keys; dry run when neither says otherwise. Invalid ones: an error
    that names the setting (never a key), and None."""
    return _settings(
        "broker",
        workflows.broker_settings_from_env,
        workflows.parse_broker_settings,
        workflows.BrokerSettingsError,
        lambda exc: st.error(f"Broker settings: {exc}"),
    )


def alert_settings() -> workflows.AlertSettings | None:
    """Alert settings from ``[alerts]`` in Streamlit secrets, else the ``WORKBENCH_*``
    variables. Invalid ones turn alerts off with a warning that names the setting (never
    its value); None then."""
    return _settings(
        "alerts",
        workflows.alert_settings_from_env,
        workflows.parse_alert_settings,
        workflows.AlertSettingsError,
        lambda exc: st.warning(f"Alerts are off: {exc}"),
    )


def render_alert_log(path: str) -> None:
    """The newest alerts, newest first: when, what, to which channels, how delivery went."""
    settings = alert_settings()
    log = workflows.load_alerts(path)
    st.subheader("Alerts")
    with st.expander(f"The {len(log)} newest, newest first", expanded=bool(len(log))):
        if settings is not None and not settings.channels:
            st.caption(
                "No alert channel configured: alerts are recorded here only. Set Slack, "
                "Discord or email under [alerts] in .streamlit/secrets.toml (see README)."
            )
        elif settings is not None:
            st.caption(f"Alerts go to: {', '.join(settings.channels)}.")
        st.dataframe(log, hide_index=True, key="monitor.alerts")
