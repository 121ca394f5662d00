"""The workbench's settings: one object, merged once, in one documented order.

Every setting is read here and nowhere else; the pages, the API, the store path, the
artifacts root, alerts, the broker, the keyed sources, bundle signing, experiment tracking
and the locks all take it from ``load_settings()``. A setting's value comes from the first of:

1. command-line overrides (``reload_settings(artifacts_root=...)``, ``--secrets``);
2. environment variables (the documented names in ``ENVIRONMENT``: ``WORKBENCH_DB``,
   ``FRED_API_KEY``, ``ALPACA_API_KEY_ID``, MLflow's own ``MLFLOW_TRACKING_URI``, ...); a
   blank variable counts as unset;
3. the secrets file, ``.streamlit/secrets.toml`` under the repository (elsewhere with
   ``WORKBENCH_SECRETS``): ``[alerts]``, ``[broker]``, ``[auth]``, ``[tracking]`` and the
   top-level keys in ``SECRETS_FILE_KEYS``;
4. the defaults below.

Sections merge key by key: ``WORKBENCH_SLACK_WEBHOOK`` replaces ``[alerts]
slack_webhook`` and leaves the file's ``smtp_*`` keys in place. Secrets are ``SecretStr``
(never shown by ``repr`` or an error). A value of the wrong type raises ``SettingsError``
(a ValueError) naming the setting and where it may be set, never the value. The sections
hold what was written; the rules of alerts, the broker and the allow-list stay with their
parsers (``engine.alerts``, ``engine.trading.broker``, ``engine.access``).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PositiveInt, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SECRETS_FILE = REPO_ROOT / ".streamlit" / "secrets.toml"
SECRETS_FILE_ENV = "WORKBENCH_SECRETS"
DB_ENV_VAR, ARTIFACTS_ENV_VAR = "WORKBENCH_DB", "WORKBENCH_ARTIFACTS"

# environment variable -> (section, setting); "" is the top level
ENVIRONMENT: dict[str, tuple[str, str]] = {
    SECRETS_FILE_ENV: ("", "secrets_file"),
    DB_ENV_VAR: ("", "db_path"),
    ARTIFACTS_ENV_VAR: ("", "artifacts_root"),
    "WORKBENCH_API_RATE_LIMIT": ("api", "rate_limit"),
    "WORKBENCH_API_DAILY_ROUTINE": ("api", "daily_routine"),
    "WORKBENCH_BUNDLE_KEY": ("signing", "bundle_signing_key"),
    "WORKBENCH_REQUIRE_SIGNED_BUNDLES": ("signing", "require_signed_bundles"),
    "FRED_API_KEY": ("sources", "fred_api_key"),
    "FINNHUB_API_KEY": ("sources", "finnhub_api_key"),
    "WORKBENCH_BROKER_MODE": ("broker", "broker_mode"),
    "ALPACA_API_KEY_ID": ("broker", "api_key_id"),
    "ALPACA_API_SECRET_KEY": ("broker", "api_secret_key"),
    "MLFLOW_TRACKING_URI": ("tracking", "tracking_uri"),
    "MLFLOW_EXPERIMENT_NAME": ("tracking", "experiment_name"),
    **{
        f"WORKBENCH_{name.upper()}": ("alerts", name)
        for name in (
            "slack_webhook",
            "discord_webhook",
            "smtp_host",
            "smtp_port",
            "smtp_user",
            "smtp_password",
            "smtp_from",
            "smtp_to",
            "smtp_starttls",
        )  # fmt: skip
    },
}
# top-level keys of the secrets file -> (section, setting); tables map to their section
SECRETS_FILE_KEYS: dict[str, tuple[str, str]] = {
    "FRED_API_KEY": ("sources", "fred_api_key"),
    "FINNHUB_API_KEY": ("sources", "finnhub_api_key"),
    "bundle_signing_key": ("signing", "bundle_signing_key"),
    "require_signed_bundles": ("signing", "require_signed_bundles"),
}
SECRETS_FILE_TABLES = ("alerts", "broker", "auth", "tracking")


class SettingsError(ValueError):
    """A setting is invalid; the message names it and where it is set, never its value."""


def revealed(section: BaseModel) -> dict[str, Any]:
    """The settings of ``section`` that are set, secrets as plain text (for the parsers
    of alerts, the broker and the allow-list; never for display)."""
    values = {**section.model_dump(exclude_none=True), **(section.model_extra or {})}
    return {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in values.items()}


class Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ApiSection(Section):
    rate_limit: PositiveInt = 100  # requests a minute per key, unless the key sets its own
    # the watchlist whose daily routine the API server runs after each close (None: none)
    daily_routine: str | None = None


class SigningSection(Section):
    bundle_signing_key: SecretStr | None = Field(default=None, min_length=1)
    require_signed_bundles: bool | None = None

    @property
    def key(self) -> bytes | None:
        """This install's bundle signing key, None when none is configured."""
        key = self.bundle_signing_key
        return key.get_secret_value().encode() if key is not None else None

    @property
    def require_signed(self) -> bool:
        """Imports accept only bundles signed here: as set, else exactly when a key exists."""
        if self.require_signed_bundles is not None:
            return self.require_signed_bundles
        return self.key is not None


class SourcesSection(Section):
    fred_api_key: SecretStr | None = None
    finnhub_api_key: SecretStr | None = None


class AlertsSection(Section):
    """``[alerts]``: validated by ``engine.alerts.parse_alert_settings``."""

    slack_webhook: SecretStr | None = None
    discord_webhook: SecretStr | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_to: str | tuple[str, ...] | None = None
    smtp_starttls: bool | None = None


class BrokerSection(Section):
    """``[broker]``: validated by ``engine.trading.broker.parse_broker_settings``."""

    broker_mode: str | None = None
    api_key_id: SecretStr | None = None
    api_secret_key: SecretStr | None = None
    timeout_s: float | None = None


class TrackingSection(Section):
    """``[tracking]``: MLflow experiment tracking (``engine.workflows.modeling.tracking``);
    off while no tracking URI is set. The URI is a secret: a server's may carry a token."""

    tracking_uri: SecretStr | None = Field(default=None, min_length=1)
    experiment_name: str = Field(default="workbench", min_length=1)


class AuthSection(Section):
    """``[auth]``: Streamlit's OIDC login (its keys, and provider sub-tables, pass through)
    and the allow-list, validated by ``engine.access.parse_allow_list``."""

    model_config = ConfigDict(frozen=True, extra="allow")

    redirect_uri: str | None = None
    cookie_secret: SecretStr | None = None
    client_secret: SecretStr | None = None


class WorkbenchSettings(BaseSettings):
    """All the settings; build it with ``load_settings`` (or ``build_settings``)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore")

    secrets_file: Path = DEFAULT_SECRETS_FILE
    db_path: Path = REPO_ROOT / "data" / "workbench.db"
    artifacts_root: Path = REPO_ROOT / "models" / "artifacts"
    api: ApiSection = ApiSection()
    signing: SigningSection = SigningSection()
    sources: SourcesSection = SourcesSection()
    alerts: AlertsSection = AlertsSection()
    broker: BrokerSection = BrokerSection()
    tracking: TrackingSection = TrackingSection()
    auth: AuthSection | None = None  # None: no [auth] table, no login

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # build_settings passes the three layers as init kwargs; first wins
        assert isinstance(init_settings, InitSettingsSource)
        layers = init_settings.init_kwargs
        return tuple(
            InitSettingsSource(settings_cls, layers.get(name, {}))
            for name in ("overrides", "environment", "secrets_file_values")
        )


def _nest(pairs: Mapping[tuple[str, str], Any]) -> dict[str, Any]:
    nested: dict[str, Any] = {}
    for (section, name), value in pairs.items():
        (nested.setdefault(section, {}) if section else nested)[name] = value
    return nested


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    found = {where: environ[name].strip() for name, where in ENVIRONMENT.items() if name in environ}
    return _nest({where: value for where, value in found.items() if value})


def _from_secrets_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"cannot read the settings in {path}: {exc}") from None
    keys = SECRETS_FILE_KEYS.items()
    values = _nest({where: document[key] for key, where in keys if key in document})
    for table in SECRETS_FILE_TABLES:
        if table in document:
            if not isinstance(document[table], dict):
                raise SettingsError(f"[{table}] in {path} must be a table")
            values[table] = document[table]
    return values


def _where(location: tuple, secrets_file: Path) -> str:
    """The setting at ``location`` and where it may be set."""
    path = tuple(str(p) for p in location[:2])
    where = path if len(path) == 2 else ("", path[0])
    places = [f"${name}" for name, at in ENVIRONMENT.items() if at == where]
    in_file = [k for k, at in SECRETS_FILE_KEYS.items() if at == where]
    if in_file:
        places.append(f"{in_file[0]} in {secrets_file}")
    elif where[0] in SECRETS_FILE_TABLES:
        places.append(f"[{where[0]}] {where[1]} in {secrets_file}")
    shown = ".".join(str(p) for p in location)
    return f"{shown} ({' or '.join(places)})" if places else shown


def _secrets_path(overrides: Mapping[str, Any], environ: Mapping[str, str]) -> Path:
    """The secrets file: the command line's, else ``$WORKBENCH_SECRETS``, else the default."""
    named = overrides.get("secrets_file") or environ.get(SECRETS_FILE_ENV, "").strip()
    return Path(named or DEFAULT_SECRETS_FILE)


def build_settings(
    environ: Mapping[str, str], overrides: Mapping[str, Any] | None = None
) -> WorkbenchSettings:
    """The settings from ``overrides`` (the command line), ``environ`` and the secrets file,
    in that order; uncached (``load_settings`` caches). SettingsError names a bad one."""
    overrides = dict(overrides or {})
    environment = _from_environment(environ)
    secrets_file = _secrets_path(overrides, environ)
    try:
        return WorkbenchSettings(
            overrides=overrides,
            environment=environment,
            secrets_file_values=_from_secrets_file(secrets_file),
        )
    except ValidationError as exc:
        problems = [f"{_where(e['loc'], secrets_file)}: {e['msg']}" for e in exc.errors()]
        raise SettingsError("; ".join(problems)) from None


_overrides: dict[str, Any] = {}
_cache: dict[tuple, WorkbenchSettings] = {}  # at most one entry: the current inputs


def _inputs() -> tuple:
    """What the settings depend on: the overrides, the variables, the file's bytes."""
    environment = tuple(os.environ.get(name) for name in ENVIRONMENT)
    path = _secrets_path(_overrides, os.environ)
    try:
        file = (str(path), path.read_bytes())
    except OSError:
        file = (str(path), None)
    return tuple(sorted((k, str(v)) for k, v in _overrides.items())), environment, file


def load_settings() -> WorkbenchSettings:
    """This process's settings, built once and rebuilt only when their inputs change (an
    override, a variable of ``ENVIRONMENT``, the secrets file)."""
    inputs = _inputs()
    if inputs not in _cache:
        settings = build_settings(os.environ, _overrides)
        _cache.clear()
        _cache[inputs] = settings
    return _cache[inputs]


def reload_settings(**overrides: Any) -> WorkbenchSettings:
    """Rebuild the settings now, with ``overrides`` (the command line's, e.g.
    ``artifacts_root``) in place of the previous ones: after the Settings page saves, or
    when a script starts."""
    _overrides.clear()
    _overrides.update(overrides)
    _cache.clear()
    return load_settings()
