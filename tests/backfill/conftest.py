"""Fixtures of the backfill tests: a fake GitHub, a Slack that knows users' emails, services wired to both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FIXTURES, make_settings
from tests.support.fake_github import FakeGitHub
from tests.support.fake_sentry import FakeSentry
from tests.support.fake_slack import Call, FakeSlack
from tests.support.httpserver import Reply
from tests.support.signing import click_body, fixture_request, slack_headers
from triagebot.app import create_app
from triagebot.bootstrap import Services, build_services

EMAILS = {"U111": "dev@acme.test"}


class SlackWithUsers(FakeSlack):
    """The fake Slack, answering users.info with a profile email as Slack does (users:read.email)."""

    def _route(self, verb: str, path: str, body: Any, headers: dict[str, str]) -> Reply:
        if path.endswith("/users.info"):
            user_id = str(body.get("user", "")) if isinstance(body, dict) else ""
            with self.lock:
                self.calls.append(Call("users.info", {"user": user_id}))
            if user_id not in EMAILS:
                return 200, {}, {"ok": False, "error": "user_not_found"}
            profile = {"email": EMAILS[user_id], "real_name": "Dev"}
            return 200, {}, {"ok": True, "user": {"id": user_id, "name": "dev", "profile": profile}}
        return super()._route(verb, path, body, headers)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """Slack's Web API, with a user directory."""
    slack = SlackWithUsers()
    yield slack
    slack.stop()


ServicesFactory = Callable[..., Services]


@pytest.fixture
def make_services(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, fake_sentry: FakeSentry, fake_github: FakeGitHub
) -> Iterator[ServicesFactory]:
    """Build services on both backends against the fakes; keyword arguments override settings."""
    built: list[Services] = []

    def make(**overrides: Any) -> Services:
        values: dict[str, Any] = {
            "slack_bot_token": "xoxb-test",
            "slack_api_url": fake_slack.base_url,
            "sentry_api_token": "sentry-token",
            "sentry_org": "acme",
            "sentry_api_url": fake_sentry.url,
            "github_token": "ghp_test",
            "github_api_url": fake_github.url,
            "github_repo": "acme/shop",
        }
        values.update(overrides)
        services = build_services(make_settings(database_url, tmp_path, **values))
        built.append(services)
        return services

    yield make
    for services in built:
        services.engine.dispose()


@pytest.fixture
def services(make_services: ServicesFactory) -> Services:
    """Services with GitHub configured (token auth, default repo acme/shop)."""
    return make_services()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    """An HTTP client for the app."""
    with TestClient(create_app(services)) as test_client:
        yield test_client


def open_thread(client: TestClient, services: Services, fixture: str = "event_alert.triggered.json") -> str:
    """Post a signed Sentry webhook, deliver the thread, and return the issue id."""
    body, headers = fixture_request(FIXTURES / "sentry" / fixture)
    response = client.post("/webhooks/sentry", content=body, headers=headers)
    assert response.status_code == 202, response.text
    services.outbox.drain()
    return str(response.json()["issue"])


def click(client: TestClient, action_id: str, value: str, user: str = "U111") -> Any:
    """Post a signed block_actions payload, built from Slack's own example, for one of our buttons."""
    body = click_body(action_id, value, user)
    answer = client.post("/slack/events", content=body, headers=slack_headers(body))
    # The listener acks first and stores the click after Slack has its answer: wait for it.
    assert client.app.state.services.listeners.wait_idle(timeout=20)  # type: ignore[attr-defined]
    return answer
