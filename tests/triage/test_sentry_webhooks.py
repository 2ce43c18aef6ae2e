"""POST /webhooks/sentry with real Sentry payloads, signed for real: one test per fixture."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import FIXTURES
from tests.support.fake_sentry import FakeSentry
from tests.support.fake_slack import FakeSlack
from tests.support.signing import compact, fixture_request, sentry_headers
from triagebot.bootstrap import Services
from triagebot.triage.models import Delivery, Issue

SENTRY = FIXTURES / "sentry"


def post_fixture(client: TestClient, name: str) -> tuple[int, dict]:
    body, headers = fixture_request(SENTRY / name)
    response = client.post("/webhooks/sentry", content=body, headers=headers)
    return response.status_code, response.json()


def issues(services: Services) -> list[Issue]:
    with services.sessions() as session:
        return list(session.execute(select(Issue)).scalars())


# fixture -> (issue id, title, status, assignee, Slack root text start)
OPENING = {
    "issue.created.json": ("1170820242", "ReferenceError: blooopy is not defined", "unresolved", None),
    "issue.created.python.json": None,
    "issue.resolved.json": None,
    "issue.assigned.json": (
        "1638844654",
        "A test message event from golang.",
        "unresolved",
        "hdrive1999@gmail.com",
    ),
    "issue.ignored.json": None,
    "event_alert.triggered.json": ("1117540176", "ReferenceError: heck is not defined", "unresolved", None),
    "event_alert.triggered.javascript_vue.json": None,
    "error.created.json": None,
}


def _expected(name: str) -> tuple[str, str, str, str | None]:
    known = OPENING[name]
    if known is not None:
        return known
    data = json.loads((SENTRY / name).read_text())["data"]
    if "issue" in data:
        issue = data["issue"]
        status = {"ignored": "ignored", "resolved": "resolved"}.get(data.get("action", ""), issue["status"])
        return issue["id"], issue["title"], status, None
    event = data.get("event") or data.get("error")
    return str(event["issue_id"]), event["title"], "unresolved", None


@pytest.mark.parametrize("name", sorted(OPENING))
def test_each_issue_naming_fixture_opens_exactly_one_thread(
    name: str, client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    status, answer = post_fixture(client, name)
    issue_id, title, issue_status, assignee = _expected(name)
    action = json.loads((SENTRY / name).read_text())["action"]
    assert (status, answer) == (202, {"ok": True, "issue": issue_id, "outcome": "opened"})
    [issue] = issues(services)
    assert (issue.id, issue.title, issue.status, issue.assignee) == (
        issue_id,
        title,
        {"ignored": "ignored", "resolved": "resolved"}.get(action, issue_status),
        assignee,
    )
    services.outbox.drain()
    [post] = fake_slack.of("chat.postMessage")
    assert post.args["channel"] == "C0TRIAGE"
    assert "thread_ts" not in post.args
    actions = next(block for block in post.args["blocks"] if block["type"] == "actions")
    labels = [(element.get("text") or element["placeholder"])["text"] for element in actions["elements"]]
    assert labels[:6] == [
        "Create regression test",
        "Assign to me",
        "Assign to…",
        "Resolve",
        "Archive",
        "Won't test",
    ]
    [issue] = issues(services)
    assert (issue.channel, issue.thread_ts) == ("C0TRIAGE", "1700000000.000001")


def test_issue_created_fetches_latest_event_for_url_and_flags(
    client: TestClient, services: Services, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    fake_sentry.latest["contexts"] = {
        **fake_sentry.latest.get("contexts", {}),
        "flags": {"values": [{"flag": "new-checkout", "result": True}]},
    }
    post_fixture(client, "issue.created.json")
    services.outbox.drain()
    assert ("GET", "/api/0/organizations/acme/issues/1170820242/events/latest/", b"") in fake_sentry.requests
    [issue] = issues(services)
    assert issue.flags == [["new-checkout", True]]
    assert issue.latest_event is not None
    post = fake_slack.of("chat.postMessage")[0]
    context = [b for b in post.args["blocks"] if b["type"] == "context"]
    assert context and "new-checkout=True" in context[0]["elements"][0]["text"]


@pytest.mark.parametrize(
    "name", ["installation.created.json", "comment.created.json", "metric_alert.resolved.json"]
)
def test_known_but_unhandled_resources_answer_200_and_store_nothing(
    name: str, client: TestClient, services: Services
) -> None:
    status, answer = post_fixture(client, name)
    resource = name.split(".")[0]
    action = json.loads((SENTRY / name).read_text())["action"]
    assert (status, answer) == (200, {"ok": True, "ignored": f"{resource}.{action}"})
    assert issues(services) == []


def test_legacy_plugin_body_is_accepted_only_on_its_token_url(client: TestClient, services: Services) -> None:
    body = (SENTRY / "legacy_plugin.python.json").read_bytes()
    refused = client.post("/webhooks/sentry/legacy/wrong-token", content=body)
    assert refused.status_code == 401
    unsigned = client.post("/webhooks/sentry", content=body, headers={"Sentry-Hook-Resource": "event_alert"})
    assert unsigned.status_code == 401
    assert issues(services) == []
    accepted = client.post("/webhooks/sentry/legacy/legacy-token-for-tests", content=body)
    assert accepted.status_code == 202, accepted.text
    [issue] = issues(services)
    assert (issue.id, issue.project_slug, issue.web_url) == (
        "4311163364",
        "python-raven",
        "https://nitk-46.sentry.io/issues/4311163364/",
    )


def test_wrong_or_missing_signature_is_401_and_stores_nothing(client: TestClient, services: Services) -> None:
    body, headers = fixture_request(SENTRY / "issue.created.json")
    bad = {**headers, "Sentry-Hook-Signature": "0" * 64}
    assert client.post("/webhooks/sentry", content=body, headers=bad).status_code == 401
    missing = {k: v for k, v in headers.items() if k != "Sentry-Hook-Signature"}
    response = client.post("/webhooks/sentry", content=body, headers=missing)
    assert response.status_code == 401
    assert "Sentry-Hook-Signature" in response.json()["detail"]
    # Re-serialising the JSON (spaces after separators) changes the bytes, so the signature fails.
    respaced = json.dumps(json.loads(body)).encode()
    assert client.post("/webhooks/sentry", content=respaced, headers=headers).status_code == 401
    with services.sessions() as session:
        assert list(session.execute(select(Delivery)).scalars()) == []
    assert issues(services) == []


def test_bad_bodies_get_400_naming_the_problem(client: TestClient, services: Services) -> None:
    not_json = b"{not json"
    response = client.post("/webhooks/sentry", content=not_json, headers=sentry_headers("issue", not_json))
    assert response.status_code == 400 and "not valid JSON" in response.json()["detail"]
    no_issue = compact({"action": "created", "data": {}})
    response = client.post("/webhooks/sentry", content=no_issue, headers=sentry_headers("issue", no_issue))
    assert (response.status_code, response.json()["detail"]) == (
        400,
        "data.issue is missing or not an object",
    )
    no_id = compact({"action": "created", "data": {"issue": {"title": "x"}}})
    response = client.post("/webhooks/sentry", content=no_id, headers=sentry_headers("issue", no_id))
    assert (response.status_code, response.json()["detail"]) == (400, "data.issue.id is missing or invalid")
    no_action = compact({"data": {}})
    response = client.post("/webhooks/sentry", content=no_action, headers=sentry_headers("issue", no_action))
    assert (response.status_code, response.json()["detail"]) == (400, "action is missing or invalid")
    body, headers = fixture_request(SENTRY / "issue.created.json")
    del headers["Sentry-Hook-Resource"]
    response = client.post("/webhooks/sentry", content=body, headers=headers)
    assert (response.status_code, response.json()["detail"]) == (
        400,
        "Sentry-Hook-Resource header is missing",
    )
    assert issues(services) == []


def test_oversized_body_is_413(client: TestClient, services: Services) -> None:
    body = compact({"action": "created", "data": {"issue": {"id": "1", "title": "x" * 1_100_000}}})
    response = client.post("/webhooks/sentry", content=body, headers=sentry_headers("issue", body))
    assert response.status_code == 413
    assert issues(services) == []


def test_every_handled_key_has_a_fixture() -> None:
    from triagebot.integrations.sentry.webhooks import HANDLED

    names = {".".join(path.name.split(".")[:2]) for path in SENTRY.glob("*.json")}
    assert HANDLED - names == set()
