"""The settings the pages show or hand on: alerts and the broker (and the alert log that
shows where alerts go). ``engine.settings`` merges them once, in one order (command line >
environment > .streamlit/secrets.toml > defaults); an invalid one is shown here, by name,
never as a traceback."""

import streamlit as st

from engine import workflows


def _settings(read, show):
    """``read()``, or None after ``show(error)`` when a setting is invalid (the error names
    the setting, never its value)."""
    try:
        return read()
    except ValueError as exc:  # SettingsError, AlertSettingsError, BrokerSettingsError
        show(exc)
        return None


def broker_settings() -> workflows.BrokerSettings | None:
    """Broker settings (``[broker]``, ``WORKBENCH_BROKER_MODE`` and the ``ALPACA_*`` keys);
    dry run unless they say otherwise. Invalid ones: an error naming the setting, and None."""
    return _settings(workflows.broker_settings, lambda exc: st.error(f"Broker settings: {exc}"))


def alert_settings() -> workflows.AlertSettings | None:
    """Alert settings (``[alerts]``, the ``WORKBENCH_*`` variables). Invalid ones turn alerts
    off with a warning that names the setting (never its value); None then."""
    return _settings(workflows.alert_settings, lambda exc: st.warning(f"Alerts are off: {exc}"))


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
