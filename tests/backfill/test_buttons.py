"""Assign to me, Resolve and Won't test: signed clicks reaching Sentry (via the outbox) and the thread."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.backfill.conftest import click, click_body, open_thread
from tests.conftest import FIXTURES
from tests.support.fake_sentry import FakeSentry
from tests.support.fake_slack import FakeSlack
from tests.support.signing import slack_headers
from triagebot.backfill.service import SENTRY_RESOLVE
from triagebot.bootstrap import Services
from triagebot.db import _SQLITE_WRITERS
from triagebot.messages import ids
from triagebot.outbox.models import PENDING, OutboxMessage
from triagebot.triage.models import Issue


def thread_replies(slack: FakeSlack) -> list[str]:
    return [c.args["text"] for c in slack.of("chat.postMessage") if c.args.get("thread_ts")]


def issue(services: Services, issue_id: str) -> Issue:
    with services.sessions() as session:
        found = session.get(Issue, issue_id)
        assert found is not None
        return found


def sentry_puts(fake_sentry: FakeSentry) -> list[tuple[str, object]]:
    return [(path, body) for verb, path, body in fake_sentry.requests if verb == "PUT"]


def test_assign_to_me_maps_the_slack_user_to_their_email_in_sentry(
    client: TestClient, services: Services, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    issue_id = open_thread(client, services)
    assert click(client, ids.ASSIGN_ME, issue_id).status_code == 200
    assert sentry_puts(fake_sentry) == []  # only the outbox calls out
    services.outbox.drain()
    assert sentry_puts(fake_sentry) == [
        (f"/api/0/organizations/acme/issues/{issue_id}/", {"assignedTo": "dev@acme.test"})
    ]
    assert [c.args for c in fake_slack.of("users.info")] == [{"user": "U111"}]
    assert issue(services, issue_id).assignee == "dev@acme.test"
    assert thread_replies(fake_slack) == [
        ":bust_in_silhouette: Assigned to dev@acme.test by <@U111> from Slack."
    ]
    root = fake_slack.of("chat.update")[-1].args["blocks"]
    assert "assigned to dev@acme.test" in json.dumps(root)

    click(client, ids.ASSIGN_ME, issue_id, user="U999")  # Slack shares no email for this one
    services.outbox.drain()
    assert len(sentry_puts(fake_sentry)) == 1
    assert thread_replies(fake_slack)[-1].startswith(":bust_in_silhouette: Could not assign <@U999>")


def test_resolve_goes_to_sentry_and_a_refusal_is_reported(
    client: TestClient, services: Services, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    issue_id = open_thread(client, services)
    fake_sentry.failures.append((403, {}, {"detail": "You do not have permission to perform this action."}))
    click(client, ids.RESOLVE, issue_id)
    services.outbox.drain()
    assert issue(services, issue_id).status == "unresolved"
    assert thread_replies(fake_slack)[-1].startswith(":warning: Sentry refused the change: sentry PUT")
    click(client, ids.RESOLVE, issue_id, user="U222")
    services.outbox.drain()
    assert sentry_puts(fake_sentry)[-1] == (
        f"/api/0/organizations/acme/issues/{issue_id}/",
        {"status": "resolved"},
    )
    assert issue(services, issue_id).status == "resolved"
    assert thread_replies(fake_slack)[-1] == ":white_check_mark: Resolved by <@U222> from Slack."


def submit(client: TestClient, view: dict, reason: str | None, user: str = "U111") -> dict:
    """Post Slack's view_submission example, carrying our modal's callback id, metadata and input."""
    payload = json.loads((FIXTURES / "slack" / "view_submission.json").read_text())
    payload["user"]["id"] = user
    payload["view"].update(callback_id=view["callback_id"], private_metadata=view["private_metadata"])
    payload["view"]["blocks"] = view["blocks"]
    payload["view"]["state"]["values"] = {"reason": {"reason": {"type": "plain_text_input", "value": reason}}}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    response = client.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200
    assert client.app.state.services.listeners.wait_idle(timeout=20)  # type: ignore[attr-defined]
    return response.json() if response.content else {}


def test_wont_test_opens_a_modal_and_records_the_reason(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    issue_id = open_thread(client, services)
    assert click(client, ids.WONT_TEST, issue_id).status_code == 200
    # The listener acks first and opens the modal after, so the answer may come before views.open.
    deadline = time.monotonic() + 10
    while not fake_slack.of("views.open") and time.monotonic() < deadline:
        time.sleep(0.01)
    [opened] = fake_slack.of("views.open")
    assert opened.args["trigger_id"] == "4916855695380.xxx.yyy"
    view = opened.args["view"]
    assert view["callback_id"] == ids.WONT_TEST_VIEW
    assert json.loads(view["private_metadata"]) == {"issue_id": issue_id, "channel": "C0TRIAGE"}

    assert submit(client, view, "  ") == {
        "response_action": "errors",
        "errors": {"reason": "Say why, so others know it was on purpose."},
    }
    assert issue(services, issue_id).wont_test_reason is None

    assert submit(client, view, "Third-party widget <!channel> & fixed upstream") == {}
    recorded = issue(services, issue_id)
    assert (recorded.wont_test_reason, recorded.wont_test_by) == (
        "Third-party widget <!channel> & fixed upstream",
        "U111",
    )
    services.outbox.drain()
    assert thread_replies(fake_slack) == [
        ":no_entry_sign: <@U111> marked this issue as won't test: "
        "Third-party widget &lt;!channel&gt; &amp; fixed upstream"
    ]
    blocks = fake_slack.of("chat.update")[-1].args["blocks"]
    line = next(b for b in blocks if b.get("block_id", "").startswith("t-"))["elements"][0]["text"]
    assert (
        line
        == ":no_entry_sign: Won't test (<@U111>): Third-party widget &lt;!channel&gt; &amp; fixed upstream"
    )


def _select_user(client: TestClient, block_id: str, selected: str, user: str = "U111") -> int:
    """Post a users_select choice: Slack's block_actions example with the select's own fields."""
    payload = json.loads((FIXTURES / "slack" / "block_actions_button_click.json").read_text())
    payload["user"]["id"] = user
    payload["channel"]["id"] = payload["container"]["channel_id"] = "C0TRIAGE"
    payload["actions"] = [
        {
            "type": "users_select",
            "action_id": ids.ASSIGN_USER,
            "block_id": block_id,
            "selected_user": selected,
            "action_ts": "1678252213.679169",
        }
    ]
    body = urlencode({"payload": json.dumps(payload)}).encode()
    status = client.post("/slack/events", content=body, headers=slack_headers(body)).status_code
    assert client.app.state.services.listeners.wait_idle(timeout=20)  # type: ignore[attr-defined]
    return status


def test_the_assignee_picker_assigns_the_person_picked(
    client: TestClient, services: Services, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    issue_id = open_thread(client, services)
    [post] = fake_slack.of("chat.postMessage")
    actions = next(block for block in post.args["blocks"] if block["type"] == "actions")
    assert any(element["type"] == "users_select" for element in actions["elements"])
    assert _select_user(client, actions["block_id"], selected="U111", user="U555") == 200
    services.outbox.drain()
    assert sentry_puts(fake_sentry) == [
        (f"/api/0/organizations/acme/issues/{issue_id}/", {"assignedTo": "dev@acme.test"})
    ]
    assert thread_replies(fake_slack) == [
        ":bust_in_silhouette: Assigned to dev@acme.test by <@U555> from Slack."
    ]
    # A block id naming no issue of ours changes nothing.
    assert _select_user(client, "a-<!channel>-0", selected="U111") == 200
    services.outbox.drain()
    assert len(sentry_puts(fake_sentry)) == 1


def test_archive_sits_beside_resolve_and_archives_in_sentry(
    client: TestClient, services: Services, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    issue_id = open_thread(client, services)
    [post] = fake_slack.of("chat.postMessage")
    actions = next(block for block in post.args["blocks"] if block["type"] == "actions")
    action_ids = [element["action_id"] for element in actions["elements"]]
    assert action_ids.index(ids.ARCHIVE) == action_ids.index(ids.RESOLVE) + 1
    assert click(client, ids.ARCHIVE, issue_id).status_code == 200
    services.outbox.drain()
    assert sentry_puts(fake_sentry) == [
        (
            f"/api/0/organizations/acme/issues/{issue_id}/",
            {"status": "ignored", "substatus": "archived_until_escalating"},
        )
    ]
    assert issue(services, issue_id).status == "ignored"
    assert thread_replies(fake_slack) == [":file_cabinet: Archived until it escalates by <@U111> from Slack."]


def test_a_click_is_acked_before_anything_is_stored(client: TestClient, services: Services) -> None:
    if services.engine.dialect.name != "sqlite":
        pytest.skip("holds SQLite's writer lock to stall the store")
    issue_id = open_thread(client, services)
    body = click_body(ids.RESOLVE, issue_id, "U222")
    writer = _SQLITE_WRITERS[services.engine]
    assert writer.acquire(timeout=5)  # every write now waits: the listener cannot store the click yet
    try:
        response = client.post("/slack/events", content=body, headers=slack_headers(body))
        assert response.status_code == 200
        assert not services.listeners.wait_idle(timeout=0.2)  # acked, and still waiting to store
        assert pending_kinds(services) == []
    finally:
        writer.release()
    assert services.listeners.wait_idle(timeout=20)
    assert pending_kinds(services) == [SENTRY_RESOLVE]


def pending_kinds(services: Services) -> list[str]:
    """The kinds of the outbox rows still to deliver."""
    with services.sessions() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.status == PENDING)).scalars()
        return [row.kind for row in rows]
