"""The app's lock: with Streamlit's OIDC login configured (``[auth]`` in the settings,
.streamlit/secrets.toml, which Streamlit's login reads too), nothing but a login button
renders until the user has logged in, and nothing but "not authorized" unless the user's
email is on the allow-list (``allowed_emails`` / ``allowed_domains`` in ``[auth]``:
``engine.access``). Without login the app may only listen on loopback (``make run``
checks, api.lock)."""

import streamlit as st

from engine import workflows


def allow_list() -> workflows.AllowList | None:
    """The allow-list of ``[auth]``; an invalid one is shown (by setting) and gives None."""
    try:
        return workflows.allow_list()
    except ValueError as exc:  # AccessSettingsError, SettingsError: they name the setting
        st.error(f"Login settings: {exc}")
        return None


def refuse(email: object, allowed: workflows.AllowList) -> None:
    """Say the logged-in account may not open the app, offer to log out, stop the run."""
    st.title("Not authorized")
    shown = "".join(c for c in str(email or "") if c.isprintable() and c != "`")[:254].strip()
    who = f"`{shown}`" if shown else "This account"
    if not allowed:
        why = "no account is on the allow-list yet (allowed_emails / allowed_domains in [auth])"
    elif not shown:
        why = "the identity provider sent no email address to check against the allow-list"
    else:
        why = "it is not on this workbench's allow-list"
    st.error(f"{who} is not authorized to open this workbench: {why}.")
    st.button("Log out", on_click=st.logout, key="auth.logout")
    st.stop()


def require_login() -> None:
    """Stop the run at a login button unless the user is logged in, and at "not
    authorized" unless the allow-list has their email (when login is configured); an
    allowed user gets a logout button in the sidebar."""
    try:
        configured = workflows.login_configured()
    except workflows.SettingsError as exc:
        st.error(f"Settings: {exc}")
        st.stop()
    if not configured:
        return
    allowed = allow_list()
    if allowed is None:
        st.stop()
    if not st.user.get("is_logged_in", False):  # absent until a login has happened
        st.title("Forecasting workbench")
        st.caption("This workbench is shared beyond this machine: log in to open it.")
        st.button("Log in", on_click=st.login, type="primary", key="auth.login")
        st.stop()
    email = st.user.get("email")
    if not allowed.allows(email, st.user.get("email_verified")):
        refuse(email, allowed)
    st.sidebar.button("Log out", on_click=st.logout, key="auth.logout")
