"""The Sentry inbox: stored at intake, applied after, in order, once, across restarts and instances."""

from __future__ import annotations

import json
import threading
from copy import deepcopy
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import col, select

from tests.conftest import FIXTURES, make_settings
from tests.support.fake_slack import FakeSlack
from tests.support.settle import outcomes, settle
from tests.support.signing import compact, sentry_headers
from triagebot.app import create_app
from triagebot.bootstrap import Services, build_services
from triagebot.db import transaction, utcnow
from triagebot.jobs.cleanup import delete_old_rows
from triagebot.triage import inbox
from triagebot.triage.inbox import Arrival
from triagebot.triage.models import Delivery, Issue

SENTRY = FIXTURES / "sentry"


def load(name: str) -> dict[str, Any]:
    return json.loads((SENTRY / name).read_text())


def post(client: TestClient, resource: str, payload: dict[str, Any]) -> dict[str, Any]:
    body = compact(payload)
    response = client.post("/webhooks/sentry", content=body, headers=sentry_headers(resource, body))
    assert response.status_code == 202, response.text
    return response.json()


def status_change(action: str, status: str) -> dict[str, Any]:
    payload = load("issue.resolved.json")
    payload["action"] = action
    payload["data"]["issue"]["status"] = status
    return payload


def test_stored_webhooks_survive_a_restart_and_apply_in_arrival_order(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    settings = make_settings(
        database_url, tmp_path, slack_bot_token="xoxb-test", slack_api_url=fake_slack.base_url
    )
    first = build_services(settings, sentry=None)
    with TestClient(create_app(first)) as client:
        changes = (("created", "unresolved"), ("resolved", "resolved"), ("unresolved", "unresolved"))
        for action, status in changes:
            assert post(client, "issue", status_change(action, status))["outcome"] == "queued"
    first.engine.dispose()  # the process dies before its inbox applied anything
    assert fake_slack.calls == []

    second = build_services(settings, sentry=None)
    assert outcomes(second) == ["queued", "queued", "queued"]
    settle(second)
    assert outcomes(second) == ["opened", "updated", "updated"]
    texts = [call.args["text"] for call in fake_slack.of("chat.postMessage")[1:]]
    assert texts[0] == ":white_check_mark: Resolved by Hemanth V. Alluri."
    assert texts[1].startswith(":rotating_light: *Regression:*")
    with second.sessions() as session:
        [issue] = session.execute(select(Issue)).scalars()
    assert issue.status == "unresolved"
    second.engine.dispose()


def test_the_same_delivery_twice_in_one_batch_is_stored_once(services: Services) -> None:
    body = b'{"action":"created"}'
    first = Arrival("error.created:aaa", "error", "created", "1", body)
    other = Arrival("error.created:bbb", "error", "created", "1", body)
    assert inbox.store(services.sessions, [first, first, other]) == [True, False, True]
    assert inbox.store(services.sessions, [first]) == [False]
    with services.sessions() as session:
        keys = session.execute(select(Delivery.key).order_by(col(Delivery.id))).scalars().all()
    assert keys == ["error.created:aaa", "error.created:bbb"]


def test_a_delivery_that_trips_a_bug_is_set_aside_and_the_rest_applied(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    with transaction(services.sessions) as session:  # a row no parser accepts (written by a bug, say)
        session.add(
            Delivery(source="sentry", key="broken", resource="issue", outcome="queued", body="{not json")
        )
    post(client, "issue", load("issue.created.json"))
    settle(services)
    assert outcomes(services) == ["failed", "opened"]
    with services.sessions() as session:
        broken = session.execute(select(Delivery).where(Delivery.key == "broken")).scalar_one()
    assert broken.processed_at is not None and broken.body == "{not json"  # kept to look at
    assert len(fake_slack.of("chat.postMessage")) == 1


def test_intake_answers_503_naming_the_problem_when_the_database_is_away(tmp_path: Path) -> None:
    unreachable = f"sqlite:///{tmp_path / 'no-such-dir' / 'triagebot.db'}"
    services = build_services(make_settings(unreachable, tmp_path), sentry=None)
    with TestClient(create_app(services)) as client:
        body = compact(load("issue.created.json"))
        response = client.post("/webhooks/sentry", content=body, headers=sentry_headers("issue", body))
    assert response.status_code == 503
    assert response.json()["detail"] == "could not store the webhook (OperationalError); try again"


def test_concurrent_appliers_apply_each_delivery_once_in_order(
    database_url: str, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    settings = make_settings(
        database_url, tmp_path, slack_bot_token="xoxb-test", slack_api_url=fake_slack.base_url
    )
    one, two = build_services(settings, sentry=None), build_services(settings, sentry=None)
    base = load("error.created.json")
    with TestClient(create_app(one)) as client:
        for n in range(60):
            event = deepcopy(base)
            event["data"]["error"]["event_id"] = f"{n:032x}"
            post(client, "error", event)
    workers = [threading.Thread(target=services.inbox.drain) for services in (one, two, one, two)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert outcomes(one) == ["opened"] + ["updated"] * 59
    with one.sessions() as session:
        [issue] = session.execute(select(Issue)).scalars()
    assert issue.events_seen == 60
    settle(one)
    assert len(fake_slack.of("chat.postMessage")) == 1
    one.engine.dispose()
    two.engine.dispose()


def test_overlapping_arrivals_mark_intake_busy(services: Services) -> None:
    assert not services.inbox.busy()
    services.inbox.arriving(waiting=0)  # alone: applying may run beside it
    assert not services.inbox.busy()
    services.inbox.arriving(waiting=3)  # others wait for their commit: answering comes first
    assert services.inbox.busy()


def test_cleanup_keeps_old_deliveries_that_still_wait(services: Services) -> None:
    old = utcnow() - timedelta(days=40)
    with transaction(services.sessions) as session:
        session.add(Delivery(source="sentry", key="waiting", resource="issue", body="{}", received_at=old))
        session.add(
            Delivery(
                source="sentry", key="done", resource="issue", body="{}", received_at=old, processed_at=old
            )
        )
    assert delete_old_rows(services, now=utcnow()) == (1, 0)
    with services.sessions() as session:
        assert session.execute(select(Delivery.key)).scalars().all() == ["waiting"]


def test_legacy_bodies_are_applied_with_the_legacy_parser(services: Services, client: TestClient) -> None:
    body = (SENTRY / "legacy_plugin.python.json").read_bytes()
    assert client.post("/webhooks/sentry/legacy/legacy-token-for-tests", content=body).status_code == 202
    with services.sessions() as session:
        stored = session.execute(select(Delivery)).scalar_one()
    assert (stored.resource, stored.outcome, stored.processed_at) == ("legacy", "queued", None)
    settle(services)
    assert outcomes(services) == ["opened"]
