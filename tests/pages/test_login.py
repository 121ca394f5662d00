"""The app's lock: with OIDC login configured nothing but the login button renders until
the user logs in; without it the app opens as before (it then serves loopback only)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

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
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)


def test_with_login_configured_only_the_login_button_renders(seeded_db, monkeypatch) -> None:
    at = app(seeded_db, monkeypatch)
    at.secrets["auth"] = AUTH
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
