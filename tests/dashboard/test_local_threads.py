"""Without Slack, threads and their buttons live on the dashboard; its banners say only what we set."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import FIXTURES, make_settings
from tests.support.fake_sentry import FakeSentry
from tests.support.signing import fixture_request
from triagebot.app import create_app
from triagebot.backfill.models import FAILED, RegressionTest
from triagebot.bootstrap import Services, build_services
from triagebot.db import transaction, utcnow

TOKEN = "dashboard-token-for-tests"
ISSUE = "1117540176"  # the issue of event_alert.triggered.json


@pytest.fixture
def no_slack(
    sqlite_url: str, tmp_path: Path, fake_sentry: FakeSentry
) -> Iterator[tuple[TestClient, Services]]:
    """A service with neither Slack nor a repository, talking to the fake Sentry."""
    settings = make_settings(
        sqlite_url,
        tmp_path,
        slack_channel=None,
        sentry_api_token="sentry-token",
        sentry_org="acme",
        sentry_api_url=fake_sentry.url,
    )
    services = build_services(settings)
    with TestClient(create_app(services), base_url="http://triagebot.test") as client:
        client.post("/login", data={"token": TOKEN})
        body, headers = fixture_request(FIXTURES / "sentry" / "event_alert.triggered.json")
        assert client.post("/webhooks/sentry", content=body, headers=headers).status_code == 202
        services.outbox.drain()
        yield client, services
    services.engine.dispose()


def _csrf(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _act(client: TestClient, action: str, **form: str) -> Any:
    csrf = _csrf(client.get(f"/issues/{ISSUE}").text)
    return client.post(f"/issues/{ISSUE}/{action}", data={"csrf": csrf, **form}, follow_redirects=False)


def test_a_thread_opens_on_the_dashboard_with_its_buttons(no_slack: tuple[TestClient, Services]) -> None:
    client, _services = no_slack
    page = client.get(f"/issues/{ISSUE}").text
    thread = page.split("<h2>Thread</h2>", 1)[1]
    assert "No thread yet" not in thread
    assert "<strong>Root</strong>" in thread
    for action in ("create-test", "assign", "resolve", "archive", "wont-test"):
        assert f'action="/issues/{ISSUE}/{action}"' in page


def test_create_test_without_a_repository_says_why_where_it_was_clicked(
    no_slack: tuple[TestClient, Services],
) -> None:
    client, services = no_slack
    answer = _act(client, "create-test")
    assert answer.headers["location"] == f"/issues/{ISSUE}?done=no-repository"
    banner = client.get(answer.headers["location"]).text
    assert re.search(
        r'class="flash"[^>]*>Cannot draft a regression test: no repository is configured', banner
    )
    assert "TRIAGEBOT_GITHUB_REPO" in banner
    with services.sessions() as session:
        assert list(session.execute(select(RegressionTest)).scalars()) == []


def test_a_failed_draft_shows_its_reason_and_never_none(no_slack: tuple[TestClient, Services]) -> None:
    client, services = no_slack
    with transaction(services.sessions) as session:
        session.add(
            RegressionTest(
                issue_id=ISSUE,
                state=FAILED,
                attempt=1,
                created_by="dashboard",
                last_error="the code host refused: <b>403</b>",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    for path in (f"/issues/{ISSUE}", "/tests"):
        page = client.get(path).text
        assert ">None<" not in page and "None" not in page.split("<main>", 1)[1]
    assert "the code host refused: &lt;b&gt;403&lt;/b&gt;" in client.get(f"/issues/{ISSUE}").text


@pytest.mark.parametrize(
    "done", ["Your%20session%20expired%2C%20sign%20in%20at%20evil.example", "%3Cscript%3Ex%3C%2Fscript%3E"]
)
def test_the_banner_shows_only_messages_the_service_set(
    no_slack: tuple[TestClient, Services], done: str
) -> None:
    client, _services = no_slack
    page = client.get(f"/issues/{ISSUE}?done={done}").text
    assert 'class="flash"' not in page and "evil.example" not in page and "script&gt;x" not in page


def test_assign_and_archive_from_the_dashboard_reach_sentry(
    no_slack: tuple[TestClient, Services], fake_sentry: FakeSentry
) -> None:
    client, services = no_slack
    assert _act(client, "assign", email="not an email").headers["location"].endswith("done=need-assignee")
    assert _act(client, "assign", email="dev@acme.test").headers["location"].endswith("done=assigning")
    assert _act(client, "archive").headers["location"].endswith("done=archiving")
    services.outbox.drain()
    updates = [body for verb, path, body in fake_sentry.requests if verb == "PUT" and ISSUE in path]
    assert updates == [
        {"assignedTo": "dev@acme.test"},
        {"status": "ignored", "substatus": "archived_until_escalating"},
    ]
    thread = client.get(f"/issues/{ISSUE}").text.split("<h2>Thread</h2>", 1)[1]
    assert "Assigned to dev@acme.test by dashboard from the dashboard." in thread
    assert "Archived until it escalates by dashboard from the dashboard." in thread
