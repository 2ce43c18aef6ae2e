"""Webhooks written by hand from Sentry's documented formats, not copied from captures.

Each body varies what the documentation allows to vary (ids as numbers or strings, counts as
strings, epoch or ISO times, team assignees, tag pairs, substatuses) so the parser is held to
the format rather than to the fixtures.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.support.fake_slack import FakeSlack
from tests.support.signing import compact, sentry_headers
from triagebot.bootstrap import Services
from triagebot.triage.models import Issue

ORG = "https://acme.sentry.io"


def post(client: TestClient, resource: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = compact(payload)
    response = client.post("/webhooks/sentry", content=body, headers=sentry_headers(resource, body))
    return response.status_code, response.json()


def group(**overrides: Any) -> dict[str, Any]:
    """A serialized Sentry group as the issue webhooks document it."""
    issue = {
        "url": f"{ORG}/api/0/organizations/acme/issues/4242/",
        "web_url": f"{ORG}/issues/4242/",
        "project_url": f"{ORG}/issues/?project=7",
        "id": "4242",
        "shareId": None,
        "shortId": "SHOP-2Q",
        "title": "TypeError: Cannot read properties of undefined (reading 'total')",
        "culprit": "renderCart(src/cart.ts)",
        "permalink": None,
        "logger": None,
        "level": "error",
        "status": "unresolved",
        "statusDetails": {},
        "substatus": "new",
        "isPublic": False,
        "platform": "javascript",
        "project": {"id": "7", "name": "shop", "slug": "shop", "platform": "javascript-react"},
        "type": "error",
        "metadata": {"type": "TypeError", "value": "Cannot read properties of undefined (reading 'total')"},
        "numComments": 0,
        "assignedTo": None,
        "isBookmarked": False,
        "isSubscribed": False,
        "hasSeen": False,
        "annotations": [],
        "isUnhandled": True,
        "count": "3",
        "userCount": 2,
        "firstSeen": "2026-11-20T08:15:02.120000Z",
        "lastSeen": "2026-11-20T09:01:44Z",
    }
    issue.update(overrides)
    return issue


def issue_hook(action: str, actor: dict[str, Any] | None = None, **data: Any) -> dict[str, Any]:
    return {
        "action": action,
        "installation": {"uuid": "0d6c5e7a-2f4b-4b8e-9a51-3c1f0f1f9d11"},
        "data": data,
        "actor": actor or {"type": "application", "id": "sentry", "name": "Sentry"},
    }


def stored(services: Services, issue_id: str) -> Issue:
    with services.sessions() as session:
        issue = session.get(Issue, issue_id)
        assert issue is not None
        return issue


def test_issue_lifecycle_with_numeric_ids_team_assignee_and_substatuses(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    created = issue_hook("created", issue=group(id=4242, count=3, userCount="2"))
    assert post(client, "issue", created) == (202, {"ok": True, "issue": "4242", "outcome": "opened"})
    issue = stored(services, "4242")
    assert (issue.short_id, issue.project_slug, issue.project_id) == ("SHOP-2Q", "shop", "7")
    assert (issue.event_count, issue.user_count, issue.web_url) == (3, 2, f"{ORG}/issues/4242/")
    assert issue.first_seen is not None
    assert issue.first_seen.replace(tzinfo=UTC) == datetime(2026, 11, 20, 8, 15, 2, 120000, tzinfo=UTC)

    team = {"type": "team", "id": "12", "name": "checkout"}
    user = {"type": "user", "id": 3, "name": "Grace", "email": "grace@example.com"}
    assigned = issue_hook("assigned", user, issue=group(assignedTo=team))
    assert post(client, "issue", assigned)[1]["outcome"] == "updated"
    assert stored(services, "4242").assignee == "checkout"

    archived = issue_hook(
        "archived",
        user,
        issue=group(
            status="ignored",
            substatus="archived_until_escalating",
            statusDetails={"ignoreUntilEscalating": True},
        ),
    )
    assert post(client, "issue", archived)[1]["outcome"] == "updated"
    assert stored(services, "4242").status == "ignored"

    escalating = issue_hook("unresolved", issue=group(substatus="escalating", count="40"))
    assert post(client, "issue", escalating)[1]["outcome"] == "updated"
    issue = stored(services, "4242")
    assert (issue.status, issue.substatus, issue.event_count) == ("unresolved", "escalating", 40)

    resolved = issue_hook(
        "resolved",
        user,
        issue=group(status="resolved", substatus=None, statusDetails={"inNextRelease": True}),
        resolution_type="in_next_release",
    )
    assert post(client, "issue", resolved)[1]["outcome"] == "updated"
    assert stored(services, "4242").status == "resolved"

    services.outbox.drain()
    posts = fake_slack.of("chat.postMessage")
    assert len([p for p in posts if "thread_ts" not in p.args]) == 1  # one thread for the whole life
    assert [p.args["text"] for p in posts[1:]] == [
        ":bust_in_silhouette: Assigned to checkout by Grace.",
        ":zipper_mouth_face: Archived by Grace.",
        ":eyes: SHOP-2Q is back from the archive (escalating).",
        ":white_check_mark: Resolved by Grace (in next release).",
    ]


def error_event(**overrides: Any) -> dict[str, Any]:
    """An event in the protocol shape of `data.error` / `data.event`, with epoch timestamps."""
    event = {
        "event_id": "9f2c3b7e1d0a4c5b8e6f7a8b9c0d1e2f",
        "project": 7,
        "release": "shop@2.14.0",
        "dist": None,
        "platform": "javascript",
        "message": "",
        "datetime": "2026-11-20T09:01:44.500000Z",
        "tags": [["browser", "Chrome 131"], ["environment", "production"], ["level", "error"]],
        "contexts": {
            "browser": {"name": "Chrome", "version": "131"},
            "flags": {"values": [{"flag": "new-cart", "result": True}]},
        },
        "culprit": "renderCart(src/cart.ts)",
        "environment": "production",
        "exception": {
            "values": [
                {
                    "type": "TypeError",
                    "value": "Cannot read properties of undefined (reading 'total')",
                    "mechanism": {"type": "onerror", "handled": False},
                    "stacktrace": {
                        "frames": [{"function": "renderCart", "filename": "src/cart.ts", "lineno": 88}]
                    },
                }
            ]
        },
        "breadcrumbs": {
            "values": [
                {"timestamp": 1763629300.1, "category": "navigation", "data": {"from": "/", "to": "/cart"}},
                {"timestamp": 1763629301.7, "category": "ui.click", "message": "button#checkout"},
            ]
        },
        "level": "error",
        "request": {"url": "https://shop.example.com/cart?step=2", "headers": [["User-Agent", "Chrome"]]},
        "sdk": {"name": "sentry.javascript.react", "version": "8.40.0"},
        "timestamp": 1763629304.5,
        "received": 1763629304.9,
        "title": "TypeError: Cannot read properties of undefined (reading 'total')",
        "type": "error",
        "user": {"id": "u-81"},
        "url": f"{ORG}/api/0/projects/acme/shop/events/9f2c3b7e1d0a4c5b8e6f7a8b9c0d1e2f/",
        "web_url": f"{ORG}/issues/5151/events/9f2c3b7e1d0a4c5b8e6f7a8b9c0d1e2f/",
        "issue_url": f"{ORG}/api/0/issues/5151/",
        "issue_id": "5151",
    }
    event.update(overrides)
    return event


def test_error_created_reads_environment_release_flags_and_the_issue_link(
    client: TestClient, services: Services
) -> None:
    hook = issue_hook("created", error=error_event())
    assert post(client, "error", hook) == (202, {"ok": True, "issue": "5151", "outcome": "opened"})
    issue = stored(services, "5151")
    assert (issue.environment, issue.release, issue.flags) == (
        "production",
        "shop@2.14.0",
        [["new-cart", True]],
    )
    assert (issue.project_id, issue.web_url, issue.events_seen) == ("7", f"{ORG}/issues/5151/", 1)
    assert issue.latest_event is not None
    assert issue.latest_event["request"]["url"] == "https://shop.example.com/cart?step=2"


def test_event_alert_with_a_numeric_issue_id_or_only_an_issue_url(
    client: TestClient, services: Services
) -> None:
    numeric = issue_hook(
        "triggered",
        event=error_event(issue_id=6161, event_id="a" * 32),
        triggered_rule="Checkout errors",
        issue_alert={"title": "Checkout errors", "settings": []},
    )
    assert post(client, "event_alert", numeric)[1] == {"ok": True, "issue": "6161", "outcome": "opened"}
    url_only = error_event(event_id="b" * 32, issue_url=f"{ORG}/api/0/issues/7171/")
    del url_only["issue_id"]
    hook = issue_hook("triggered", event=url_only, triggered_rule="Checkout errors")
    assert post(client, "event_alert", hook)[1] == {"ok": True, "issue": "7171", "outcome": "opened"}
    assert stored(services, "7171").release == "shop@2.14.0"


def test_unknown_resources_and_actions_are_answered_and_store_nothing(
    client: TestClient, services: Services
) -> None:
    for resource, action in [
        ("seer", "root_cause_started"),
        ("preprod_artifact", "created"),
        ("issue", "deleted"),
    ]:
        hook = issue_hook(action, issue=group())
        assert post(client, resource, hook) == (200, {"ok": True, "ignored": f"{resource}.{action}"})
    with services.sessions() as session:
        assert session.get(Issue, "4242") is None


def test_a_group_without_an_id_is_400_naming_the_field(client: TestClient, services: Services) -> None:
    body = group()
    del body["id"]
    status, answer = post(client, "issue", issue_hook("created", issue=body))
    assert status == 400
    assert "data.issue.id" in answer["detail"]
