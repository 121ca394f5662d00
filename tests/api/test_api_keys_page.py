"""The API keys page: a key created is shown once and works; a revoked one is refused."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from api.app import create_app
from engine import workflows
from tests.api.conftest import TestClient


def test_create_show_once_and_revoke(app: AppTest, seeded_db) -> None:
    app.switch_page("views/api_keys.py")
    app.run()
    assert [t.value for t in app.title] == ["API keys"]
    app.text_input(key="api_keys.name").input("grafana")
    app.button[0].click()  # the form's submit button
    app.run()
    assert not app.exception
    token = app.code[0].value
    assert token.startswith("wbk_") and "not shown again" in app.success[0].value
    client = TestClient(create_app(seeded_db), headers={"X-API-Key": token})
    assert client.get("/jobs/x1").status_code == 404  # accepted: the job is unknown
    app.run()
    assert not app.code  # shown once
    app.button(key="api_keys.revoke").click()
    app.run()
    keys = workflows.load_api_keys(seeded_db)
    assert keys["revoked_utc"].notna().all()
    assert client.get("/jobs/x1").status_code == 401
