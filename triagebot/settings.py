"""The one Settings object: every TRIAGEBOT_* variable (and `.env`), loaded once at start-up."""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from triagebot.errors import BadInput, NotConfigured

OWN_PREFIX = "TRIAGEBOT_"


class PreviewSecretRefused(BadInput):
    """A repository's config names an environment variable the operator did not allow."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"the repository's config asks for the environment variable {name}, which "
            + (
                "is one of triagebot's own settings and is never sent to a preview"
                if name.upper().startswith(OWN_PREFIX)
                else "is not listed in TRIAGEBOT_PREVIEW_SECRETS"
            )
        )
        self.name = name


PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "xxx", "todo", "placeholder"}


class Route(BaseModel):
    """Where one Sentry project's issues go: a Slack channel and an app repository."""

    channel: str | None = None
    repo: str | None = None


class Settings(BaseSettings):
    """Configuration read from TRIAGEBOT_* environment variables and `.env`."""

    model_config = SettingsConfigDict(
        env_prefix="TRIAGEBOT_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    mode: Literal["development", "production"] = "development"
    database_url: str = "sqlite:///triagebot.db"
    public_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path(".triagebot-data")

    sentry_client_secret: SecretStr | None = None
    sentry_legacy_token: SecretStr | None = None
    sentry_api_token: SecretStr | None = None
    sentry_org: str | None = None
    sentry_api_url: str = "https://sentry.io"
    sentry_app_id: str | None = None

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_channel: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_interval_seconds: float = 1.0

    github_token: SecretStr | None = None
    github_app_id: str | None = None
    github_app_private_key: SecretStr | None = None
    github_app_installation_id: str | None = None
    github_webhook_secret: SecretStr | None = None
    github_repo: str | None = None
    github_api_url: str = "https://api.github.com"
    local_repo_path: Path | None = None

    gate_token: SecretStr | None = None
    preview_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    chromium_path: str | None = None
    gate_concurrency: int | None = None  # None: what the cores and free memory carry (auto_concurrency)
    gate_step_timeout_ms: int = 10_000
    gate_spec_timeout_ms: int = 60_000
    gate_setup_secret: SecretStr | None = None  # signs the data-setup calls to a preview
    # Environment variables a repository's `.triagebot/config.yml` may have the gate send to a preview
    # (sign-in fields, `preview.headers`): the operator's allow-list, names only, comma-separated.
    preview_secrets: Annotated[list[str], NoDecode] = Field(default_factory=list)
    verify_url: str | None = None  # where drafts are verified when no default-branch preview is known
    verify_budget_seconds: float = Field(default=60.0, ge=0)  # time for trying a draft's alternatives

    dashboard_token: SecretStr | None = None
    routes: dict[str, Route] = Field(default_factory=dict)
    max_body_bytes: int = 1_000_000
    scheduler_enabled: bool = True
    worker_enabled: bool = True

    sentry_dsn: SecretStr | None = Field(default=None, validation_alias="SENTRY_DSN")

    @field_validator("database_url")
    @classmethod
    def _parse_database_url(cls, value: str) -> str:
        # Checked here so a typo is named at start, not deep inside the first query's traceback.
        try:
            url = make_url(value.replace("postgres://", "postgresql://", 1))
            url.get_dialect()
        except (ArgumentError, NoSuchModuleError, ValueError):
            raise ValueError(
                "not a database URL; expected sqlite:///path/to/file.db or postgresql://user:pass@host/name"
            ) from None
        return value

    @field_validator("preview_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("preview_secrets", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        names = [part.strip() for part in value.split(",")] if isinstance(value, str) else value
        if not isinstance(names, list):
            return value
        for name in names:
            if isinstance(name, str) and name.upper().startswith(OWN_PREFIX):
                raise ValueError(f"{name} is one of triagebot's own settings and is never sent to a preview")
        return [name for name in names if name]

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.mode != "production":
            return self
        for name in ("sentry_client_secret", "slack_signing_secret", "github_webhook_secret", "gate_token"):
            value = getattr(self, name)
            if value is not None and value.get_secret_value().strip().lower() in PLACEHOLDER_SECRETS:
                raise ValueError(f"TRIAGEBOT_{name.upper()} is a placeholder; set a real secret")
        return self

    @cached_property
    def sentry_base(self) -> str:
        return self.sentry_api_url.rstrip("/")

    def route_for(self, project_slug: str | None) -> Route:
        """Return the channel and repo for a Sentry project, falling back to the defaults."""
        route = self.routes.get(project_slug or "", Route())
        return Route(channel=route.channel or self.slack_channel, repo=route.repo or self.github_repo)

    def preview_secret_values(self, names: Iterable[str]) -> dict[str, str | None]:
        """Read the named variables for a preview (None: unset); PreviewSecretRefused for one not allowed."""
        allowed = set(self.preview_secrets)
        values: dict[str, str | None] = {}
        for name in names:
            if name.upper().startswith(OWN_PREFIX) or name not in allowed:
                raise PreviewSecretRefused(name)
            values[name] = os.environ.get(name) or None
        return values

    def browsing_only(self, url: str) -> Settings:
        """For a command-line run: with TRIAGEBOT_PREVIEW_HOSTS unset, allow only `url`'s own host."""
        host = (urlsplit(url.strip()).hostname or "").lower()
        if self.preview_hosts or not host:
            return self
        return self.model_copy(update={"preview_hosts": [host]})

    def preview_host_allowed(self, host: str) -> bool:
        """Say whether a gate may browse `host` (a pattern like `*.vercel.app` matches subdomains)."""
        host = host.lower()
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self.preview_hosts)


class BadSetting(NotConfigured):
    """A setting that cannot be used; the message names the variable and what is wrong."""


def load_settings(**values: Any) -> Settings:
    """Read the settings, turning pydantic's reports into one line per bad variable."""
    try:
        return Settings(**values)
    except (ValidationError, SettingsError) as exc:
        raise BadSetting(describe_settings_error(exc)) from None


def describe_settings_error(exc: ValidationError | SettingsError) -> str:
    """Say which variable is wrong and how, one line each."""
    if isinstance(exc, SettingsError):
        return _describe_parse_error(exc)
    return "\n".join(_describe(error) for error in exc.errors()[:5])


def env_name(field: str) -> str:
    """Return the environment variable that sets a Settings field."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    return alias if isinstance(alias, str) else f"TRIAGEBOT_{field.upper()}"


def _describe(error: Any) -> str:
    location = [str(part) for part in error.get("loc", ())]
    if not location:  # a model-level check; its message names the variable itself
        return str(error.get("msg", "invalid settings")).removeprefix("Value error, ")
    field, inner = location[0], ".".join(location[1:])
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    shown = error.get("input")
    info = Settings.model_fields.get(field)
    # Secrets, and URLs that may carry a password, are never echoed back.
    hidden = field == "database_url" or (info is not None and "SecretStr" in str(info.annotation))
    if isinstance(shown, str) and not hidden and not inner:
        message += f" (got {shown[:80]!r})"
    return f"{env_name(field)}: {inner + ': ' if inner else ''}{message}"


def _describe_parse_error(exc: SettingsError) -> str:
    # pydantic-settings says 'error parsing value for field "routes" from source ...' and keeps
    # the JSON decoder's error as the cause.
    found = re.search(r'field "([^"]+)"', str(exc))
    name = env_name(found.group(1)) if found else "a TRIAGEBOT_* variable"
    cause = exc.__cause__
    detail = str(cause) if isinstance(cause, json.JSONDecodeError) else str(exc)
    hint = ' expected e.g. {"checkout-web": {"channel": "C0123", "repo": "acme/checkout"}}'
    return f"{name}: not valid JSON ({detail});" + (hint if name.endswith("ROUTES") else "")


def secret(value: SecretStr | None) -> str | None:
    """Unwrap an optional secret."""
    return value.get_secret_value() if value is not None else None
