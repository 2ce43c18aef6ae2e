"""POST /webhooks/github with GitHub's own pull_request payloads, signed for real; and the pr-sync job."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from tests.backfill.conftest import ServicesFactory, click, open_thread
from tests.conftest import FIXTURES
from tests.support.fake_github import FakeGitHub
from tests.support.fake_slack import FakeSlack
from tests.support.signing import github_headers
from triagebot.app import create_app
from triagebot.backfill.models import ACTIVE, PR_CLOSED, PR_OPEN, RegressionTest
from triagebot.bootstrap import Services
from triagebot.jobs.scheduler import run_job
from triagebot.messages import ids
from triagebot.triage.models import Delivery

BRANCH = "triagebot/sentry-1117540176"
PR = "<https://github.com/acme/shop/pull/1347|PR #1347>"


def drafted(client: TestClient, services: Services) -> str:
    """Open a thread and its draft PR (#1347 on acme/shop); return the issue id."""
    issue_id = open_thread(client, services)
    click(client, ids.CREATE_TEST, issue_id)
    services.outbox.drain()
    return issue_id


def pull_request_body(fixture: str, **changes: Any) -> bytes:
    """GitHub's example payload, pointed at our PR: repository, number and head branch changed."""
    payload = json.loads((FIXTURES / "github" / fixture).read_text())
    payload["repository"]["full_name"] = "acme/shop"
    payload["pull_request"]["number"] = 1347
    payload["pull_request"]["html_url"] = "https://github.com/acme/shop/pull/1347"
    payload["pull_request"]["head"]["ref"] = changes.get("branch", BRANCH)
    return json.dumps(payload).encode()


def state(services: Services) -> str:
    with services.sessions() as session:
        [test] = session.execute(select(RegressionTest)).scalars()
        return test.state


def thread_replies(slack: FakeSlack) -> list[str]:
    return [c.args["text"] for c in slack.of("chat.postMessage") if c.args.get("thread_ts")]


def last_root_line(slack: FakeSlack) -> str:
    blocks = slack.of("chat.update")[-1].args["blocks"]
    return next(b for b in blocks if b.get("block_id", "").startswith("t-"))["elements"][0]["text"]


def test_merged_pull_request_makes_the_test_active_once(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    drafted(client, services)
    body = pull_request_body("webhook.pull_request.closed.merged.json")
    headers = github_headers("pull_request", body, "d0b1e5a0-1111-11ef-8000-000000000001")
    response = client.post("/webhooks/github", content=body, headers=headers)
    assert (response.status_code, response.json()) == (
        202,
        {"ok": True, "event": "pull_request.closed", "outcome": ACTIVE},
    )
    services.outbox.drain()
    assert state(services) == ACTIVE
    assert thread_replies(fake_slack)[-1] == f":white_check_mark: {PR} merged: the regression test is active."
    assert last_root_line(fake_slack) == f":test_tube: Regression test: {PR} (active)"
    replies_before = len(thread_replies(fake_slack))

    # GitHub's redelivery reuses the delivery id: answered, recorded once, no second reply.
    again = client.post("/webhooks/github", content=body, headers=headers)
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    services.outbox.drain()
    assert len(thread_replies(fake_slack)) == replies_before
    with services.sessions() as session:
        deliveries = list(session.execute(select(Delivery)).scalars())
    assert [(d.source, d.key, d.resource, d.action) for d in deliveries if d.source == "github"] == [
        ("github", "d0b1e5a0-1111-11ef-8000-000000000001", "pull_request", "closed")
    ]


def test_closed_unmerged_pull_request_leaves_a_visible_closed_draft(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    drafted(client, services)
    body = pull_request_body("webhook.pull_request.closed.not_merged.json")
    response = client.post(
        "/webhooks/github", content=body, headers=github_headers("pull_request", body, "g-2")
    )
    assert response.json()["outcome"] == PR_CLOSED
    services.outbox.drain()
    assert state(services) == PR_CLOSED
    assert last_root_line(fake_slack) == f":test_tube: Regression test: {PR} (closed unmerged)"
    assert thread_replies(fake_slack)[-1] == f":x: {PR} was closed without merging; the test stays a draft."


def test_signature_ping_other_branches_and_size_limits(
    make_services: ServicesFactory, fake_slack: FakeSlack
) -> None:
    services = make_services(max_body_bytes=200_000)
    with TestClient(create_app(services)) as client:
        drafted(client, services)
        body = pull_request_body("webhook.pull_request.closed.merged.json")
        unsigned = {
            k: v for k, v in github_headers("pull_request", body, "g-3").items() if "Signature" not in k
        }
        assert client.post("/webhooks/github", content=body, headers=unsigned).status_code == 401
        forged = github_headers("pull_request", body, "g-3", secret="not-the-secret")
        assert client.post("/webhooks/github", content=body, headers=forged).status_code == 401
        assert state(services) == PR_OPEN

        ping = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
        answer = client.post("/webhooks/github", content=ping, headers=github_headers("ping", ping, "g-4"))
        assert (answer.status_code, answer.json()) == (200, {"ok": True, "event": "ping"})

        theirs = pull_request_body("webhook.pull_request.closed.merged.json", branch="changes")
        other = client.post(
            "/webhooks/github", content=theirs, headers=github_headers("pull_request", theirs, "g-5")
        )
        assert (other.status_code, other.json()["outcome"]) == (202, "not a triagebot branch")
        assert state(services) == PR_OPEN

        huge = b'{"pad": "' + b"x" * 200_001 + b'"}'
        too_big = client.post(
            "/webhooks/github", content=huge, headers=github_headers("pull_request", huge, "g-6")
        )
        assert too_big.status_code == 413

        broken = b'{"action": "closed", "repository": {"full_name": "acme/shop"}}'
        bad = client.post(
            "/webhooks/github", content=broken, headers=github_headers("pull_request", broken, "g-7")
        )
        assert bad.status_code == 400
        assert "pull_request" in bad.json()["detail"]


def test_pr_sync_job_catches_a_merge_whose_webhook_was_missed(
    client: TestClient, services: Services, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    drafted(client, services)
    assert run_job(services, "pr-sync") == "checked 1 pull requests, 0 changed, 0 unavailable"
    fake_github.merge("acme/shop", 1347)
    assert run_job(services, "pr-sync") == "checked 1 pull requests, 1 changed, 0 unavailable"
    services.outbox.drain()
    assert state(services) == ACTIVE
    assert fake_github.of("GET", "/pulls/1347")
    assert thread_replies(fake_slack)[-1] == f":white_check_mark: {PR} merged: the regression test is active."
    assert run_job(services, "pr-sync") == "checked 0 pull requests, 0 changed, 0 unavailable"


def test_events_of_repositories_not_served_are_acknowledged_and_left_alone(
    client: TestClient, services: Services, fake_github: FakeGitHub
) -> None:
    # A GitHub App installed on many repositories sends all of them: GitHub's own examples come
    # from Codertocat/Hello-World, which this service (acme/shop) does not serve.
    sent = [
        ("pull_request", "webhook.pull_request.opened.json"),
        ("pull_request", "webhook.pull_request.closed.merged.json"),
        ("deployment_status", "webhook.deployment_status.created.success.json"),
    ]
    for number, (event, fixture) in enumerate(sent):
        body = (FIXTURES / "github" / fixture).read_bytes()
        assert json.loads(body)["repository"]["full_name"] != "acme/shop"
        response = client.post(
            "/webhooks/github", content=body, headers=github_headers(event, body, f"other-{number}")
        )
        assert response.status_code == 202
        assert response.json()["reason"] == "repository not served"
    services.outbox.drain()
    assert fake_github.calls == []
    with services.sessions() as session:
        assert list(session.execute(select(Delivery)).scalars()) == []


def test_a_served_repository_is_matched_whatever_its_case(client: TestClient, services: Services) -> None:
    payload = json.loads(pull_request_body("webhook.pull_request.opened.json", branch="feature/x"))
    payload["repository"]["full_name"] = "ACME/Shop"
    body = json.dumps(payload).encode()
    response = client.post(
        "/webhooks/github", content=body, headers=github_headers("pull_request", body, "case")
    )
    assert response.status_code == 202
    assert "reason" not in response.json()


def test_once_a_test_exists_its_pull_request_replaces_the_create_button(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    drafted(client, services)
    blocks = fake_slack.of("chat.update")[-1].args["blocks"]
    actions = next(block for block in blocks if block["type"] == "actions")
    by_id = {element["action_id"]: element for element in actions["elements"]}
    assert ids.CREATE_TEST not in by_id
    assert by_id[ids.VIEW_TEST_PR]["url"] == "https://github.com/acme/shop/pull/1347"
    assert by_id[ids.VIEW_TEST_PR]["text"]["text"] == "View test PR"
