"""The app's lock: with OIDC login configured nothing but the login button renders until
the user logs in; without it the app opens as before (it then serves loopback only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.builders import toml_table
from tests.conftest import TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a test secret, not a real one",
    "client_id": "test",
    "client_secret": "test",
    "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration",
}


def app(seeded_db: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("WORKBENCH_DB", str(seeded_db))
    monkeypatch.chdir(ROOT)
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)


def configure_login(at: AppTest, auth: dict, monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``auth`` as ``[auth]`` in the settings file (the lock reads it) and in Streamlit's
    secrets (its login reads them)."""
    path = folder / "secrets.toml"
    path.write_text(toml_table("auth", auth))
    monkeypatch.setenv("WORKBENCH_SECRETS", str(path))
    at.secrets["auth"] = auth


def test_with_login_configured_only_the_login_button_renders(seeded_db, monkeypatch) -> None:
    at = app(seeded_db, monkeypatch)
    configure_login(at, AUTH, monkeypatch, seeded_db.parent)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Forecasting workbench"]
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.dataframe and not at.sidebar.selectbox  # no data, not even the watchlist


def test_without_login_the_app_opens_on_the_daily_review(seeded_db, monkeypatch) -> None:
    at = app(seeded_db, monkeypatch)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Daily review" in [t.value for t in at.title]
    assert "Log in" not in [b.label for b in at.button]


ALLOWED = AUTH | {"allowed_emails": ["Boss@Partner.org"], "allowed_domains": ["example.com"]}


def logged_in(seeded_db: Path, monkeypatch: pytest.MonkeyPatch, auth: dict, **user) -> AppTest:
    """The app with login and ``auth`` configured, run for a logged-in ``user``."""
    at = app(seeded_db, monkeypatch)
    configure_login(at, auth, monkeypatch, seeded_db.parent)
    at.user = {"is_logged_in": True, "name": "Someone"} | user
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def assert_only_refused(at: AppTest, shown: str) -> None:
    """Nothing but "Not authorized", the account and a Log out button rendered."""
    assert [t.value for t in at.title] == ["Not authorized"]
    assert [b.label for b in at.button] == ["Log out"]
    (error,) = at.error
    assert "is not authorized to open this workbench" in error.value and shown in error.value
    assert not at.dataframe and not at.sidebar.selectbox and not at.metric
    assert not at.sidebar.button  # not even the sidebar's log out: only the page's


@pytest.mark.parametrize("email", ["boss@partner.org", "BOSS@Partner.ORG", "analyst@example.com"])
def test_an_allowed_email_or_domain_opens_the_app(seeded_db, monkeypatch, email) -> None:
    at = logged_in(seeded_db, monkeypatch, ALLOWED, email=email, email_verified=True)
    assert "Daily review" in [t.value for t in at.title]
    assert "Not authorized" not in [t.value for t in at.title]
    assert [b.label for b in at.sidebar.button] == ["Log out"]


@pytest.mark.parametrize(
    "email",
    ["a@evil-example.com", "a@example.com.evil.org", "a@sub.example.com",
     "example.com@evil.org", "other@partner.org"],
)  # fmt: skip
def test_look_alike_domains_see_not_authorized_only(seeded_db, monkeypatch, email) -> None:
    at = logged_in(seeded_db, monkeypatch, ALLOWED, email=email)
    assert_only_refused(at, f"`{email}`")
    assert "not on this workbench's allow-list" in at.error[0].value


def test_no_email_claim_or_an_unverified_one_is_refused(seeded_db, monkeypatch) -> None:
    at = logged_in(seeded_db, monkeypatch, ALLOWED)  # no "email" claim at all
    assert_only_refused(at, "This account")
    assert "sent no email address" in at.error[0].value
    at = logged_in(seeded_db, monkeypatch, ALLOWED, email="a@example.com", email_verified=False)
    assert_only_refused(at, "`a@example.com`")


def test_login_without_an_allow_list_lets_nobody_in(seeded_db, monkeypatch) -> None:
    at = logged_in(seeded_db, monkeypatch, AUTH, email="analyst@example.com")
    assert_only_refused(at, "`analyst@example.com`")
    assert "no account is on the allow-list yet" in at.error[0].value
    at.switch_page("views/api_keys.py")  # every page goes through the router's lock
    at.run()
    assert_only_refused(at, "`analyst@example.com`")


def test_logging_out_from_not_authorized_shows_the_login_button(seeded_db, monkeypatch) -> None:
    at = logged_in(seeded_db, monkeypatch, ALLOWED, email="a@evil-example.com")
    at.button(key="auth.logout").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [b.label for b in at.button] == ["Log in"] and not at.error


def test_not_logged_in_sees_only_the_login_button_with_an_allow_list(
    seeded_db, monkeypatch
) -> None:
    at = app(seeded_db, monkeypatch)
    configure_login(at, ALLOWED, monkeypatch, seeded_db.parent)
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Forecasting workbench"]
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.dataframe and not at.error and not at.sidebar.selectbox


def test_an_invalid_allow_list_stops_before_anything_renders(seeded_db, monkeypatch) -> None:
    at = logged_in(seeded_db, monkeypatch, AUTH | {"allowed_domains": ["*.example.com"]})
    assert [e.value for e in at.error] == [
        "Login settings: auth.allowed_domains: '*.example.com' is not a plain domain name "
        "(exact values, no wildcards)"
    ]
    assert not at.button and not at.title and not at.dataframe
