"""Gate service fixtures: services wired to a fake GitHub (commit statuses) and the real Slack fake."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.support.fake_github import FakeGitHub
from tests.support.fake_sentry import FakeSentry
from tests.support.fake_slack import FakeSlack
from triagebot.app import create_app
from triagebot.bootstrap import Services, build_services
from triagebot.integrations.github.auth import TokenAuth
from triagebot.integrations.github.client import GitHubClient

TOKEN = "ghp_test"  # a token the fake GitHub accepts
GATE_TOKEN = "gate-token-for-tests"
REPO = "acme/shop"
AUTH = {"Authorization": f"Bearer {GATE_TOKEN}"}


def gate_services(
    database_url: str, tmp_path: Path, slack: FakeSlack, sentry: FakeSentry, github: FakeGitHub, **extra: Any
) -> Services:
    """Build services that gate previews on 127.0.0.1 and report through the fake GitHub."""
    settings = make_settings(
        database_url,
        tmp_path,
        slack_bot_token="xoxb-test",
        slack_api_url=slack.base_url,
        sentry_api_token="sentry-token",
        sentry_org="acme",
        sentry_api_url=sentry.url,
        github_token=TOKEN,
        github_api_url=github.url,
        github_repo=REPO,
        preview_hosts=["127.0.0.1"],
        gate_concurrency=4,
        gate_step_timeout_ms=5_000,
        gate_spec_timeout_ms=30_000,
        **extra,
    )
    return build_services(settings, code_host=GitHubClient(github.url, TokenAuth(TOKEN)))


@pytest.fixture
def gservices(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, fake_sentry: FakeSentry, fake_github: FakeGitHub
) -> Iterator[Services]:
    """Gate-ready services on both database backends."""
    built = gate_services(database_url, tmp_path, fake_slack, fake_sentry, fake_github)
    yield built
    built.engine.dispose()


@pytest.fixture
def gclient(gservices: Services) -> Iterator[TestClient]:
    """An HTTP client for the app built on `gservices`."""
    with TestClient(create_app(gservices)) as test_client:
        yield test_client
