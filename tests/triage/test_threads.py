"""Thread behaviour end to end: updates, regressions, storms, Slack failures, restarts and concurrency."""

from __future__ import annotations

import itertools
import json
import threading
import time
from copy import deepcopy
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import FIXTURES, make_settings
from tests.support.fake_sentry import FakeSentry
from tests.support.fake_slack import FakeSlack
from tests.support.signing import compact, sentry_headers
from triagebot.app import create_app
from triagebot.bootstrap import Services, build_services
from triagebot.outbox.models import DEAD, DONE, OutboxMessage
from triagebot.triage.models import Issue

SENTRY = FIXTURES / "sentry"


def load(name: str) -> dict[str, Any]:
    return json.loads((SENTRY / name).read_text())


def send(client: TestClient, resource: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = compact(payload)
    response = client.post("/webhooks/sentry", content=body, headers=sentry_headers(resource, body))
    assert response.status_code in (200, 202), response.text
    return response.json()


def drain_until_idle(services: Services, timeout: float = 30.0) -> None:
    """Deliver until nothing is pending (rows may be waiting out a backoff or a Retry-After)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        services.outbox.drain()
        with services.sessions() as session:
            pending = session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending")).first()
        if pending is None:
            return
        time.sleep(0.2)
    raise AssertionError("outbox did not drain")


def resolved_issue() -> dict[str, Any]:
    return load("issue.resolved.json")


def with_status(payload: dict[str, Any], action: str, status: str) -> dict[str, Any]:
    changed = deepcopy(payload)
    changed["action"] = action
    changed["data"]["issue"]["status"] = status
    return changed


def test_later_webhooks_reply_and_edit_the_root_never_a_second_thread(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    unresolved = with_status(resolved_issue(), "created", "unresolved")
    assert send(client, "issue", unresolved)["outcome"] == "opened"
    services.outbox.drain()
    assigned = deepcopy(unresolved)
    assigned["action"] = "assigned"
    assigned["data"]["assignee"] = {"type": "user", "id": 1, "name": "Ada", "email": "ada@example.com"}
    assert send(client, "issue", assigned)["outcome"] == "updated"
    assert send(client, "issue", resolved_issue())["outcome"] == "updated"
    services.outbox.drain()
    posts = fake_slack.of("chat.postMessage")
    root_ts = posts[0].args.get("thread_ts")
    assert root_ts is None
    replies = [call.args for call in posts[1:]]
    assert [r["text"] for r in replies] == [
        ":bust_in_silhouette: Assigned to ada@example.com by Hemanth V. Alluri.",
        ":white_check_mark: Resolved by Hemanth V. Alluri.",
    ]
    assert all(r["thread_ts"] == "1700000000.000001" and r["reply_broadcast"] is False for r in replies)
    # Root edits coalesce: both updates arrived before delivery, so one edit shows the final state.
    [edit] = fake_slack.of("chat.update")
    assert edit.args["ts"] == "1700000000.000001"
    fields = edit.args["blocks"][2]["fields"]
    assert {"type": "mrkdwn", "text": "*Status*\nresolved · assigned to ada@example.com"} in fields


def test_regression_is_broadcast_to_the_channel(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    send(client, "issue", resolved_issue())
    send(client, "issue", load("issue.unresolved.json"))
    services.outbox.drain()
    reply = fake_slack.of("chat.postMessage")[1].args
    assert reply["reply_broadcast"] is True
    assert reply["text"].startswith(":rotating_light: *Regression:* ZULIP-INTEGRATION-TESTING-E")
    send(client, "issue", with_status(resolved_issue(), "assigned", "unresolved"))
    services.outbox.drain()
    # Routine updates stay in the thread.
    assert all(not call.args.get("reply_broadcast") for call in fake_slack.of("chat.postMessage")[2:])


def test_own_echo_is_ignored(client: TestClient, services: Services, fake_slack: FakeSlack) -> None:
    send(client, "issue", load("issue.created.json"))
    echo = with_status(load("issue.created.json"), "resolved", "resolved")
    echo["actor"] = {"type": "application", "id": "4f1e7b0c-our-app", "name": "triagebot"}
    assert send(client, "issue", echo)["outcome"] == "echo"
    services.outbox.drain()
    assert len(fake_slack.of("chat.postMessage")) == 1
    with services.sessions() as session:
        assert session.get(Issue, "1170820242").status == "unresolved"  # type: ignore[union-attr]


def test_hostile_text_never_pings_or_links(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    payload = load("issue.created.json")
    hostile = "<!channel> <!here> <@U024BE7LH> <https://evil.example|click> & `rm -rf` *bold* " + "x" * 5000
    payload["data"]["issue"]["title"] = hostile
    payload["data"]["issue"]["culprit"] = "<!everyone>`"
    send(client, "issue", payload)
    services.outbox.drain()
    post = fake_slack.of("chat.postMessage")[0].args
    rendered = json.dumps(post)
    for ping in ("<!channel>", "<!here>", "<@U024BE7LH>", "<https://evil.example", "<!everyone>"):
        assert ping not in rendered
    assert post["text"].startswith("FRONT-END-9: &lt;!channel&gt; &lt;!here&gt; &lt;@U024BE7LH&gt;")
    assert len(post["text"]) <= 3900
    for block in post["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
    # plain_text is never parsed for mentions, so the header keeps the text as it is (cut to 150).
    assert post["blocks"][0]["text"] == {"type": "plain_text", "text": "FRONT-END-9"}


def test_storm_folds_into_one_thread_with_bounded_replies(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    base = load("error.created.json")
    for n in range(300):
        event = deepcopy(base)
        event["data"]["error"]["event_id"] = f"{n:032x}"
        send(client, "error", event)
        if n in (100, 200):
            services.outbox.drain()  # deliveries interleave with the storm
    services.outbox.drain()
    assert len(fake_slack.of("chat.postMessage")) == 1
    assert len(fake_slack.of("chat.update")) <= 3
    with services.sessions() as session:
        [issue] = session.execute(select(Issue)).scalars()
    assert issue.event_count == 300
    last_edit = fake_slack.of("chat.update")[-1].args
    assert {"type": "mrkdwn", "text": "*Events / users*\n300 / 0"} in last_edit["blocks"][2]["fields"]


def test_duplicate_deliveries_count_once(client: TestClient, services: Services) -> None:
    payload = load("error.created.json")
    first, again = send(client, "error", payload), send(client, "error", payload)
    assert (first["outcome"], again["outcome"]) == ("opened", "duplicate")


def test_429_waits_retry_after_and_500_backs_off_then_delivers(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", 429, times=1, retry_after=1)
    fake_slack.fail("chat.postMessage", 500, times=1)
    send(client, "issue", load("issue.created.json"))
    services.outbox.drain()
    with services.sessions() as session:
        row = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "slack.post_root")
        ).scalar_one()
        assert (row.status, row.attempts) == ("pending", 1)
        assert "429" in (row.last_error or "")
    drain_until_idle(services)
    assert len(fake_slack.of("chat.postMessage")) == 1
    with services.sessions() as session:
        row = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "slack.post_root")
        ).scalar_one()
        assert (row.status, row.attempts) == (DONE, 2)


def test_permanent_slack_error_is_kept_visible_not_retried(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    fake_slack.fail("chat.postMessage", 200, times=1, error="channel_not_found")
    send(client, "issue", load("issue.created.json"))
    services.outbox.drain()
    with services.sessions() as session:
        row = session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "slack.post_root")
        ).scalar_one()
    assert row.status == DEAD and row.last_error


def test_restart_mid_outage_loses_nothing_and_keeps_order(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    settings = make_settings(
        database_url, tmp_path, slack_bot_token="xoxb-test", slack_api_url=fake_slack.base_url
    )
    first = build_services(settings, sentry=None)
    fake_slack.fail("chat.postMessage", 500, times=100)
    with TestClient(create_app(first)) as client:
        send(client, "issue", with_status(resolved_issue(), "created", "unresolved"))
        send(client, "issue", resolved_issue())
        first.outbox.drain()
    first.engine.dispose()  # the process "dies" while Slack is still down
    fake_slack.failures.clear()
    second = build_services(settings, sentry=None)
    drain_until_idle(second)
    posts = fake_slack.of("chat.postMessage")
    assert [("thread_ts" in call.args) for call in posts] == [False, True]
    assert posts[1].args["text"] == ":white_check_mark: Resolved by Hemanth V. Alluri."
    second.engine.dispose()


def test_concurrent_duplicates_open_one_thread(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    base = load("error.created.json")
    errors: list[BaseException] = []

    def report(n: int) -> None:
        event = deepcopy(base)
        event["data"]["error"]["event_id"] = f"{n % 4:032x}"  # four distinct events, each sent three times
        try:
            send(client, "error", event)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=report, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    services.outbox.drain()
    assert len(fake_slack.of("chat.postMessage")) == 1
    with services.sessions() as session:
        [issue] = session.execute(select(Issue)).scalars()
    assert issue.event_count == 4


def test_slack_rate_limit_spaces_messages_per_channel(
    sqlite_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    settings = make_settings(
        sqlite_url,
        tmp_path,
        slack_bot_token="xoxb-test",
        slack_api_url=fake_slack.base_url,
        slack_interval_seconds=1.0,
    )
    services = build_services(settings, sentry=None)
    with TestClient(create_app(services)) as client:
        for action, status in (
            ("created", "unresolved"),
            ("resolved", "resolved"),
            ("unresolved", "unresolved"),
        ):
            send(client, "issue", with_status(resolved_issue(), action, status))
    drain_until_idle(services)
    calls = [call for call in fake_slack.calls if call.method in ("chat.postMessage", "chat.update")]
    methods = [call.method for call in calls]
    assert methods.count("chat.postMessage") == 3 and methods[0] == "chat.postMessage"  # root, two replies
    assert methods.count("chat.update") >= 1  # the root's edits, coalesced while they wait
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    # The lane holds each channel to one call a second. A slot is taken just before its call goes
    # out, so a call that reached Slack late can narrow one gap a little: a quarter second is allowed.
    assert min(gaps) >= 0.75
    services.engine.dispose()
