"""The app's bind lock with login configured: beyond loopback it also needs a valid,
non-empty allow-list (``allowed_emails`` / ``allowed_domains`` in ``[auth]``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from api.lock import ExposureError, check_streamlit_bind

ROOT = Path(__file__).resolve().parents[2]
LOGIN = (
    '[auth]\nredirect_uri = "https://x/oauth2callback"\ncookie_secret = "s"\n'
    'client_id = "i"\nclient_secret = "c"\n'
    'server_metadata_url = "https://accounts.example.com/.well-known/openid-configuration"\n'
)


def secrets_with(secrets_file: Path, allow: str) -> Path:
    """``secrets_file`` (the settings' file in this test) with login and ``allow``."""
    secrets_file.write_text(LOGIN + allow)
    return secrets_file


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.5", "::", "workbench.example.com"])
def test_login_without_an_allow_list_may_not_bind_beyond_loopback(secrets_file, address) -> None:
    secrets_with(secrets_file, "")
    with pytest.raises(ExposureError, match="login has no allow-list") as refused:
        check_streamlit_bind(address)
    assert "allowed_emails and/or allowed_domains" in str(refused.value)
    check_streamlit_bind("127.0.0.1")  # loopback: the lock does not apply
    check_streamlit_bind("localhost")


@pytest.mark.parametrize(
    "allow",
    [
        'allowed_emails = ["analyst@example.com"]\n',
        'allowed_domains = ["example.com"]\n',
        'allowed_domains = "example.com"\n',  # one text: a list of one
        'allowed_emails = ["Analyst@Example.com"]\nallowed_domains = ["example.org"]\n',
    ],
)
def test_login_with_an_allow_list_may_bind_beyond_loopback(secrets_file, allow) -> None:
    secrets_with(secrets_file, allow)
    check_streamlit_bind("0.0.0.0")


@pytest.mark.parametrize(
    ("allow", "problem"),
    [
        ("allowed_emails = []\nallowed_domains = []\n", "login has no allow-list"),
        ('allowed_domains = ["*.example.com"]\n', "not a plain domain name"),
        ('allowed_domains = ["example"]\n', "not a plain domain name"),
        ('allowed_emails = ["not-an-email"]\n', "not a plain email address"),
        ("allowed_emails = [42]\n", "not a plain email address"),
        ("allowed_domains = 7\n", "must be a list"),
    ],
)
def test_an_empty_or_invalid_allow_list_is_refused_by_name(secrets_file, allow, problem) -> None:
    secrets_with(secrets_file, allow)
    with pytest.raises(ExposureError, match="refusing to serve the app on '0.0.0.0'") as refused:
        check_streamlit_bind("0.0.0.0")
    assert problem in str(refused.value)


def test_make_run_s_command_exits_2_with_the_reason(tmp_path) -> None:
    """``--secrets`` names the settings file on the command line: it wins."""
    command = [sys.executable, "-m", "api.lock", "streamlit", "--address", "0.0.0.0"]
    run = subprocess.run(
        [*command, "--secrets", str(secrets_with(tmp_path / "login.toml", ""))],
        cwd=ROOT, check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 2 and "login has no allow-list" in run.stderr
    allowed = secrets_with(tmp_path / "allowed.toml", 'allowed_domains = ["example.com"]\n')
    run = subprocess.run(
        [*command, "--secrets", str(allowed)],
        cwd=ROOT, check=False, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0 and run.stderr == ""


def test_the_check_before_make_run_serves_loads_no_heavy_library(tmp_path) -> None:
    """The exposure check runs before every ``make run``: it reads the settings and the
    allow-list, never the model, data or plotting libraries."""
    allowed = secrets_with(tmp_path / "allowed.toml", 'allowed_domains = ["example.com"]\n')
    heavy = ("pandas", "xgboost", "sklearn", "shap", "plotly", "streamlit", "alpaca")
    probe = (
        "import sys\nfrom api.lock import main\n"
        f"main(['streamlit', '--address', '0.0.0.0', '--secrets', {str(allowed)!r}])\n"
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    run = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True
    )
    assert run.stdout.split() == []
