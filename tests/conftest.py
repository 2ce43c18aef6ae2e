"""Shared fixtures: fresh databases (SQLite and PostgreSQL), wire-level fakes, signed clients."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.support.fake_github import FakeGitHub
from tests.support.fake_sentry import FakeSentry
from tests.support.fake_slack import FakeSlack
from tests.support.signing import GITHUB_SECRET, SENTRY_SECRET, SLACK_SECRET
from triagebot.app import create_app
from triagebot.bootstrap import Services, build_services
from triagebot.settings import Settings
from triagebot.tables import create_schema, metadata

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
FIXTURES = Path(__file__).parent / "fixtures"


def _pg_available() -> bool:
    try:
        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


@pytest.fixture(scope="session")
def pg_available() -> bool:
    """Whether the PostgreSQL server is reachable (CI starts it; its absence fails the postgres tests)."""
    return _pg_available()


def create_pg_database() -> tuple[str, Callable[[], None]]:
    """Create an empty PostgreSQL database; return its URL and a function dropping it."""
    name = f"tb_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return f"postgresql://postgres@127.0.0.1:5432/{name}", drop


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """One PostgreSQL database per test session with the current schema, emptied before each test."""
    url, drop = create_pg_database()
    try:
        create_schema(url)
        yield url
    finally:
        drop()


def empty_pg(url: str) -> None:
    """Remove every row from every table (faster than a new database per test)."""
    tables = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with psycopg.connect(url.replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database with the current schema, on each backend (migrations are checked apart)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'triagebot.db'}"
        create_schema(url)
        yield url
        return
    url = request.getfixturevalue("pg_template")
    empty_pg(url)
    yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database, for tests whose subject is not storage."""
    url = f"sqlite:///{tmp_path / 'triagebot.db'}"
    create_schema(url)
    return url


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """Slack's Web API on an ephemeral port."""
    slack = FakeSlack()
    yield slack
    slack.stop()


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """GitHub's REST API on an ephemeral port, holding the repository acme/shop."""
    github = FakeGitHub()
    yield github
    github.stop()


@pytest.fixture
def fake_sentry() -> Iterator[FakeSentry]:
    """Sentry's web API on an ephemeral port."""
    sentry = FakeSentry()
    yield sentry
    sentry.stop()


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: real secrets, no background threads, nothing read from the environment file."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": tmp_path / "data",
        "sentry_client_secret": SENTRY_SECRET,
        "sentry_legacy_token": "legacy-token-for-tests",
        "slack_signing_secret": SLACK_SECRET,
        "github_webhook_secret": GITHUB_SECRET,
        "gate_token": "gate-token-for-tests",
        "dashboard_token": "dashboard-token-for-tests",
        "slack_channel": "C0TRIAGE",
        "slack_interval_seconds": 0.0,
        "scheduler_enabled": False,
        "worker_enabled": False,
        "public_url": "http://triagebot.test",
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    """Build test settings for a database URL."""
    return lambda url, **overrides: make_settings(url, tmp_path, **overrides)


@pytest.fixture
def services(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> Iterator[Services]:
    """Services on both backends, talking to the fake Slack and Sentry."""
    settings = make_settings(
        database_url,
        tmp_path,
        slack_bot_token="xoxb-test",
        slack_api_url=fake_slack.base_url,
        sentry_api_token="sentry-token",
        sentry_org="acme",
        sentry_api_url=fake_sentry.url,
    )
    built = build_services(settings)
    yield built
    built.engine.dispose()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    """An HTTP client for the app built on `services`."""
    with TestClient(create_app(services)) as test_client:
        yield test_client
