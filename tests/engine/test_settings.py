"""One settings object: command line > environment > secrets file > defaults, section by
section and key by key; bad values named with where they may be set, never echoed."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import workflows
from engine.settings import (
    DEFAULT_SECRETS_FILE,
    REPO_ROOT,
    SettingsError,
    build_settings,
    load_settings,
    reload_settings,
    revealed,
)

FILE = """FRED_API_KEY = "fred from the file"
bundle_signing_key = "key from the file"
[alerts]
slack_webhook = "https://hooks.example.com/file"
smtp_host = "smtp.example.com"
[broker]
broker_mode = "paper"
timeout_s = 30
"""


def settings_from(path: Path, text: str | None, **environ: str):
    """The settings of a file holding ``text`` (None: no file) and ``environ``."""
    if text is not None:
        path.write_text(text)
    return build_settings({"WORKBENCH_SECRETS": str(path), **environ})


def test_without_a_file_or_variables_the_defaults_hold(tmp_path) -> None:
    settings = settings_from(tmp_path / "none.toml", None)
    assert settings.db_path == REPO_ROOT / "data" / "workbench.db"
    assert settings.artifacts_root == REPO_ROOT / "models" / "artifacts"
    assert settings.api.rate_limit == 100 and settings.auth is None
    assert settings.signing.key is None and settings.signing.require_signed is False
    assert revealed(settings.alerts) == {} and revealed(settings.broker) == {}
    assert build_settings({}).secrets_file == DEFAULT_SECRETS_FILE


def test_the_environment_wins_over_the_file_key_by_key(tmp_path) -> None:
    path = tmp_path / "secrets.toml"
    settings = settings_from(path, FILE)
    assert settings.sources.fred_api_key.get_secret_value() == "fred from the file"
    assert settings.signing.key == b"key from the file"
    assert revealed(settings.broker) == {"broker_mode": "paper", "timeout_s": 30.0}
    settings = settings_from(
        path,
        None,
        FRED_API_KEY="fred from the environment",
        WORKBENCH_BUNDLE_KEY="key from the environment",
        WORKBENCH_SLACK_WEBHOOK="https://hooks.example.com/environment",
        WORKBENCH_BROKER_MODE="dry_run",
        FINNHUB_API_KEY="   ",  # blank: unset
    )
    assert settings.sources.fred_api_key.get_secret_value() == "fred from the environment"
    assert settings.sources.finnhub_api_key is None
    assert settings.signing.key == b"key from the environment"
    assert revealed(settings.alerts) == {  # the file's smtp_host stays
        "slack_webhook": "https://hooks.example.com/environment",
        "smtp_host": "smtp.example.com",
    }
    assert revealed(settings.broker) == {"broker_mode": "dry_run", "timeout_s": 30.0}


def test_the_command_line_wins_over_everything(tmp_path) -> None:
    environ = {"WORKBENCH_SECRETS": str(tmp_path / "a.toml"), "WORKBENCH_DB": "/env/db"}
    (tmp_path / "b.toml").write_text('FINNHUB_API_KEY = "from b"\n')
    settings = build_settings(environ, {"db_path": "/cli/db", "secrets_file": tmp_path / "b.toml"})
    assert settings.db_path == Path("/cli/db")
    assert settings.secrets_file == tmp_path / "b.toml"
    assert settings.sources.finnhub_api_key.get_secret_value() == "from b"
    assert build_settings(environ).db_path == Path("/env/db")


def test_secrets_never_show(tmp_path) -> None:
    settings = settings_from(tmp_path / "s.toml", FILE, ALPACA_API_SECRET_KEY="s3cr3t")
    shown = repr(settings) + str(settings.model_dump())
    for secret in ("s3cr3t", "key from the file", "fred from the file", "hooks.example.com"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("text", "environ", "problem"),
    [
        ("", {"WORKBENCH_API_RATE_LIMIT": "0"}, "api.rate_limit ($WORKBENCH_API_RATE_LIMIT)"),
        ("", {"WORKBENCH_SMTP_PORT": "s3cr3t"}, "alerts.smtp_port ($WORKBENCH_SMTP_PORT or"),
        ("[alerts]\nsmtp_port = 's3cr3t'\n", {}, "[alerts] smtp_port in"),
        ("[alerts]\nslack = 's3cr3t'\n", {}, "alerts.slack ([alerts] slack in"),
        ("[broker]\ntimeout_s = 's3cr3t'\n", {}, "broker.timeout_s ("),
        ('bundle_signing_key = ""\n', {}, "signing.bundle_signing_key ($WORKBENCH_BUNDLE_KEY"),
        ("bundle_signing_key = 42\n", {}, "bundle_signing_key in"),
        ("", {"WORKBENCH_REQUIRE_SIGNED_BUNDLES": "s3cr3t"}, "signing.require_signed_bundles"),
        ("require_signed_bundles = 's3cr3t'\n", {}, "require_signed_bundles in"),
        ("alerts = 's3cr3t'\n", {}, "[alerts] in"),
        ("[alerts\ns3cr3t", {}, "cannot read the settings in"),
    ],
)
def test_bad_values_are_named_never_echoed(tmp_path, text, environ, problem) -> None:
    with pytest.raises(SettingsError) as refused:
        settings_from(tmp_path / "s.toml", text, **environ)
    assert problem in str(refused.value) and "s3cr3t" not in str(refused.value)
    assert isinstance(refused.value, ValueError)


def test_signed_only_imports_follow_the_key_unless_a_setting_says_otherwise(tmp_path) -> None:
    path = tmp_path / "s.toml"
    assert settings_from(path, 'bundle_signing_key = "k"\n').signing.require_signed is True
    text = 'bundle_signing_key = "k"\nrequire_signed_bundles = false\n'
    assert settings_from(path, text).signing.require_signed is False
    text = "require_signed_bundles = true\n"  # and no key: nothing imports
    assert settings_from(path, text).signing.require_signed is True
    environ = {"WORKBENCH_REQUIRE_SIGNED_BUNDLES": "0"}
    assert settings_from(path, None, **environ).signing.require_signed is False


def test_load_settings_follows_its_inputs_and_reload_takes_overrides(
    secrets_file, monkeypatch, tmp_path
) -> None:
    first = load_settings()
    assert load_settings() is first  # built once while nothing changes
    secrets_file.write_text('FINNHUB_API_KEY = "k1"\n')
    assert workflows.source_key("finnhub") == "k1"
    secrets_file.write_text('FINNHUB_API_KEY = "k2"\n')  # same size, new value
    assert workflows.source_key("finnhub") == "k2"
    monkeypatch.setenv("WORKBENCH_ARTIFACTS", str(tmp_path / "from env"))
    assert workflows.artifacts_root() == tmp_path / "from env"
    try:
        assert reload_settings(artifacts_root=tmp_path / "cli").artifacts_root == tmp_path / "cli"
        assert workflows.artifacts_root() == tmp_path / "cli"
    finally:
        reload_settings()
    assert workflows.artifacts_root() == tmp_path / "from env"
