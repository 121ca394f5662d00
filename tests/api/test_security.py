"""Keys (missing, wrong, revoked, duplicated), the rate limit, hostile input, the locks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from api.app import create_app
from api.lock import (
    ExposureError,
    check_api_bind,
    check_streamlit_bind,
    is_loopback,
    streamlit_auth_configured,
)
from engine import workflows
from tests.api.conftest import TestClient

ROOT = Path(__file__).resolve().parents[2]


def run_module(*args: str) -> subprocess.CompletedProcess:
    """``python -m <args>`` from the repository root, its output captured."""
    command = [sys.executable, "-m", *args]
    return subprocess.run(
        command, cwd=ROOT, check=False, capture_output=True, text=True, timeout=60
    )


def test_missing_wrong_and_revoked_keys_are_401(trained_db, key) -> None:
    bare = TestClient(create_app(trained_db))
    missing = bare.get("/forecast/AAPL")
    assert missing.status_code == 401 and "missing API key" in missing.json()["detail"]
    wrong = bare.get("/forecast/AAPL", headers={"Authorization": "Bearer wbk_nope"})
    assert wrong.status_code == 401 and wrong.json()["detail"] == "the API key is not valid"
    assert bare.get("/forecast/AAPL", headers={"Authorization": f"Basic {key}"}).status_code == 401
    assert bare.get("/metrics").status_code == 401
    ok = bare.get("/forecast/AAPL", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200
    keys = workflows.load_api_keys(trained_db)
    key_id = keys.loc[keys["name"] == "tests", "id"].item()
    workflows.revoke_api_key(trained_db, key_id)
    revoked = bare.get("/forecast/AAPL", headers={"X-API-Key": key})
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]
    assert key not in revoked.text


def test_keys_are_stored_hashed(trained_db, key) -> None:
    assert key.encode() not in trained_db.read_bytes()
    assert "hash" not in workflows.load_api_keys(trained_db).columns


def test_duplicated_and_huge_credentials_are_refused(trained_db, key) -> None:
    bare = TestClient(create_app(trained_db))
    both = bare.get("/forecasts", headers={"Authorization": f"Bearer {key}", "X-API-Key": key})
    assert both.status_code == 401 and "one API key" in both.json()["detail"]
    twice = bare.get("/forecasts", headers=[("X-API-Key", key), ("X-API-Key", key)])
    assert twice.status_code == 401
    assert bare.get("/forecasts", headers={"X-API-Key": "k" * 20_000}).status_code == 401


def test_rate_limit_per_key_with_retry_after(trained_db) -> None:
    _, slow = workflows.create_api_key(trained_db, "slow", rate_limit=3)
    _, other = workflows.create_api_key(trained_db, "other")
    client = TestClient(create_app(trained_db))
    codes = [client.get("/jobs/x1", headers={"X-API-Key": slow}).status_code for _ in range(4)]
    assert codes == [404, 404, 404, 429]
    limited = client.get("/jobs/x1", headers={"X-API-Key": slow})
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "3 requests a minute" in limited.json()["detail"]
    assert client.get("/jobs/x1", headers={"X-API-Key": other}).status_code == 404
    server_default = TestClient(create_app(trained_db, rate_limit=1), headers={"X-API-Key": other})
    assert [server_default.get("/jobs/x1").status_code for _ in range(2)] == [404, 429]


@pytest.mark.parametrize(
    "ticker",
    ["A" * 500, "ÄPFEL", "AAPL'; DROP TABLE prices;--", "%00", "a b", "😀"],
)
def test_hostile_tickers_are_422_naming_them(client, ticker) -> None:
    response = client.get(f"/forecast/{ticker}")
    assert response.status_code == 422
    assert "Invalid ticker" in response.json()["detail"]


def test_path_tricks_never_reach_a_file(client) -> None:
    for path in ("/forecast/../../etc/passwd", "/forecast/..%2F..%2Fetc", "/jobs/..%2F..%2Fx"):
        assert client.get(path).status_code in (404, 422)
    assert client.get("/forecasts", params={"tickers": "AAPL,../x"}).status_code == 422
    assert client.get("/forecasts", params={"watchlist": "x" * 500}).status_code == 422


def test_bad_dates_and_query_are_422(client) -> None:
    for value in ("2019-13-01", "yesterday", "2019-02-30", "1' OR '1'='1"):
        response = client.get("/forecast/AAPL", params={"as_of": value})
        assert response.status_code == 422 and "as_of" in response.text
    both = client.get("/forecasts", params={"tickers": "AAPL", "watchlist": "x"})
    assert both.status_code == 422


def test_hostile_bodies(client, trained_db) -> None:
    assert client.post("/retrain", json={"n_boot": "many"}).status_code == 422
    assert client.post("/retrain", json={"tickers": "AAPL"}).status_code == 422
    assert client.post("/retrain", json={"unknown": 1}).status_code == 422
    assert client.post("/retrain", json={"tickers": ["../etc"]}).status_code == 422
    invalid = client.post(
        "/retrain", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert invalid.status_code == 422
    huge = client.post("/retrain", json={"tickers": ["A"] * 20_000})
    assert huge.status_code == 413 and "request body over" in huge.json()["detail"]
    chunked = client.post("/retrain", content=iter([b"[" + b" " * 10_000] * 3))
    assert chunked.status_code == 413
    assert workflows.training_status(trained_db) is None  # nothing started


def test_bind_lock_of_the_api(trained_db, db_path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    check_api_bind("127.0.0.1", str(db_path))  # loopback: no key needed
    with pytest.raises(ExposureError, match="no active API key"):
        check_api_bind("0.0.0.0", str(db_path))
    workflows.create_api_key(db_path, "exposed")
    check_api_bind("0.0.0.0", str(db_path))
    run = run_module("api", "--host", "0.0.0.0", "--db", str(trained_db) + ".x")
    assert run.returncode == 2 and "refusing to serve the API" in run.stderr


def test_bind_lock_of_the_streamlit_app(tmp_path, secrets_file) -> None:
    check_streamlit_bind("127.0.0.1")
    with pytest.raises(ExposureError, match="authentication is not configured"):
        check_streamlit_bind("0.0.0.0")
    secrets_file.write_text('[auth]\nredirect_uri = "https://x/oauth2callback"\n')
    assert not streamlit_auth_configured()
    secrets_file.write_text(
        '[auth]\nredirect_uri = "https://x/oauth2callback"\ncookie_secret = "s"\n'
        'allowed_domains = ["example.com"]\n'
        '[auth.google]\nclient_id = "i"\nclient_secret = "c"\n'
        'server_metadata_url = "https://accounts.google.com/.well-known/openid-configuration"\n'
    )
    check_streamlit_bind("0.0.0.0")
    secrets_file.write_text("[auth\n")  # not TOML: refused, by file
    with pytest.raises(ExposureError, match="settings are invalid: cannot read the settings in"):
        check_streamlit_bind("0.0.0.0")
    run = run_module(
        "api.lock", "streamlit", "--address", "0.0.0.0", "--secrets", str(tmp_path / "x")
    )
    assert run.returncode == 2 and "refusing to serve the app" in run.stderr
