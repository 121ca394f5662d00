"""The app's lock: with Streamlit's OIDC login configured (``[auth]`` in
.streamlit/secrets.toml), nothing but a login button renders until the user has logged
in. Without it the app may only listen on loopback (``make run`` checks, api.lock)."""

import streamlit as st


def login_configured() -> bool:
    """Whether Streamlit secrets hold an ``[auth]`` table."""
    try:
        return st.secrets.get("auth") is not None
    except FileNotFoundError:  # no secrets.toml at all
        return False


def require_login() -> None:
    """Stop the run at a login button unless the user is logged in (when login is
    configured); a logged-in user gets a logout button in the sidebar."""
    if not login_configured():
        return
    if not st.user.get("is_logged_in", False):  # absent until a login has happened
        st.title("Forecasting workbench")
        st.caption("This workbench is shared beyond this machine: log in to open it.")
        st.button("Log in", on_click=st.login, type="primary", key="auth.login")
        st.stop()
    st.sidebar.button("Log out", on_click=st.logout, key="auth.logout")
