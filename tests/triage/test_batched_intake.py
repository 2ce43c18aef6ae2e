"""Intake in batches: one transaction for many webhooks must leave exactly what one at a time leaves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from copy import deepcopy
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from tests.conftest import FIXTURES
from tests.support.signing import compact, sentry_headers
from triagebot.app import create_app
from triagebot.bootstrap import Services
from triagebot.db import transaction, writing
from triagebot.integrations.sentry.webhooks import parse_webhook
from triagebot.outbox.models import OutboxMessage
from triagebot.triage import service
from triagebot.triage.intake_store import PostgresIntake
from triagebot.triage.models import Delivery, Issue

SENTRY = FIXTURES / "sentry"
Recorder = Callable[[list[service.Webhook]], list[str]]
ROUTING = service.Routing(channel="C0TRIAGE", fetch_events=True, own_app_id="our-app")


def webhook(name: str, **changes: Any) -> service.Webhook:
    """A parsed fixture; `issue_id`, `event_id` and `actor` rewrite it on the way."""
    payload = json.loads((SENTRY / name).read_text())
    payload = deepcopy(payload)
    data = payload["data"]
    inner = data.get("issue") or data.get("event") or data.get("error")
    if "issue_id" in changes:
        inner["id" if "issue" in data else "issue_id"] = changes["issue_id"]
    if "event_id" in changes:
        inner["event_id"] = changes["event_id"]
    if "actor" in changes:
        payload["actor"] = changes["actor"]
    body = compact(payload)
    return service.Webhook(parse_webhook(name.split(".", 1)[0], json.loads(body)), body, ROUTING)


def unreadable_event(issue_id: str) -> service.Webhook:
    """An error webhook whose event cannot be read as a Sentry event (only an issue id and a title)."""
    body = compact({"action": "created", "data": {"error": {"issue_id": issue_id, "title": "x"}}})
    return service.Webhook(parse_webhook("error", json.loads(body)), body, ROUTING)


def mixed_sequence() -> list[service.Webhook]:
    """New issues, repeated events, workflow changes with thread notes, a duplicate and our own echo."""
    return [
        webhook("issue.created.json"),
        webhook("error.created.json", event_id="a" * 32),
        webhook("event_alert.triggered.json"),
        webhook("error.created.json", event_id="b" * 32),
        webhook("error.created.json", event_id="a" * 32),  # Sentry's retry of the first event
        webhook("issue.resolved.json", issue_id="1170820242"),
        webhook("issue.resolved.json", issue_id="1170820242"),  # the same delivery again
        webhook("issue.assigned.json", issue_id="1170820242"),
        webhook("issue.unresolved.json", issue_id="1117540176"),
        webhook("issue.ignored.json", issue_id="1117540176", actor={"type": "application", "id": "our-app"}),
        webhook("issue.assigned.json"),  # opens an issue from a workflow webhook
        webhook("issue.ignored.json", issue_id="1638844654"),
        unreadable_event("1170820242"),  # the thread keeps the issue's fields; the batch goes on
    ]


@pytest.fixture(params=["core", "asyncio"])
def record_batch(
    request: pytest.FixtureRequest, services: Services
) -> Callable[[list[service.Webhook]], list[str]]:
    """Record a batch the way intake does on this store: Core statements, or on PostgreSQL also the
    asyncio driver's pipelined statements that serve the route."""
    if request.param == "core":

        def core(webhooks: list[service.Webhook]) -> list[str]:
            with writing(services.engine) as conn:
                return service.record_webhooks(conn, webhooks)

        return core
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the asyncio driver serves PostgreSQL only")
    store = PostgresIntake(services.engine)

    def on_the_loop(webhooks: list[service.Webhook]) -> list[str]:
        async def record() -> list[str]:
            try:
                return await service.record_webhooks_async(store, webhooks)
            finally:
                await store.close()

        return asyncio.run(record())

    return on_the_loop


def snapshot(services: Services) -> dict[str, Any]:
    """Everything intake writes, without ids and clocks."""
    with services.sessions() as session:
        issues = [
            issue.model_dump(exclude={"created_at", "updated_at"})
            for issue in session.execute(select(Issue).order_by(Issue.id)).scalars()  # type: ignore[arg-type]
        ]
        outbox = [
            (row.kind, row.payload, row.ordering_key, row.lane, row.dedupe_key, row.status)
            for row in session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars()  # type: ignore[arg-type]
        ]
        deliveries = sorted(
            (row.key, row.resource, row.action, row.body)
            for row in session.execute(select(Delivery)).scalars()
        )
    return {"issues": issues, "outbox": outbox, "deliveries": deliveries}


def wipe(services: Services) -> None:
    with transaction(services.sessions) as session:
        for table in (OutboxMessage, Delivery, Issue):
            session.execute(delete(table))


def test_a_batch_leaves_what_one_at_a_time_leaves(services: Services, record_batch: Recorder) -> None:
    sequence = mixed_sequence()
    one_by_one = []
    for item in sequence:
        with transaction(services.sessions) as session:
            one_by_one.append(service.record_webhook(session, item))
    expected = snapshot(services)
    wipe(services)

    batched = record_batch(sequence)

    assert batched == one_by_one
    assert batched.count("duplicate") == 2 and "echo" in batched and batched.count("opened") == 3
    assert snapshot(services) == expected
    assert len(expected["issues"]) == 3 and len(expected["deliveries"]) == len(sequence) - 2


def test_batches_in_turn_match_one_at_a_time(services: Services, record_batch: Recorder) -> None:
    sequence = mixed_sequence()
    for item in sequence:
        with transaction(services.sessions) as session:
            service.record_webhook(session, item)
    expected = snapshot(services)
    wipe(services)

    for start in range(0, len(sequence), 5):
        record_batch(sequence[start : start + 5])

    assert snapshot(services) == expected


def test_a_batch_of_stored_deliveries_changes_nothing(services: Services, record_batch: Recorder) -> None:
    sequence = mixed_sequence()
    record_batch(sequence)
    before = snapshot(services)

    again = record_batch(list(reversed(sequence)))

    assert again == ["duplicate"] * len(sequence)
    assert snapshot(services) == before


def test_lone_surrogates_in_a_webhook_are_replaced_not_stored(client: TestClient, services: Services) -> None:
    # JSON may spell a lone surrogate; UTF-8 (and so both stores) cannot hold one.
    payload = json.loads((SENTRY / "error.created.json").read_text())
    payload["data"]["error"]["environment"] = "prod\ud800<!channel>"
    payload["data"]["error"]["title"] = "Boom \ud83d"
    body = compact(payload)
    assert b"\\ud800" in body and b"\\ud83d" in body

    response = client.post("/webhooks/sentry", content=body, headers=sentry_headers("error", body))

    assert response.status_code == 202, response.text
    with services.sessions() as session:
        issue = session.get(Issue, "1170820242")
        assert issue is not None
        assert (issue.title, issue.environment) == ("Boom \ufffd", "prod\ufffd<!channel>")
        assert issue.latest_event is not None and issue.latest_event["title"] == "Boom \ufffd"


def test_a_batch_given_raw_surrogates_still_stores_the_event_cleaned(
    services: Services, record_batch: Recorder
) -> None:
    payload = json.loads((SENTRY / "error.created.json").read_text())
    payload["data"]["error"]["environment"] = "prod\udfff"
    body = compact(payload)
    item = service.Webhook(parse_webhook("error", json.loads(body)), body, ROUTING)

    assert record_batch([item]) == ["opened"]

    with services.sessions() as session:
        issue = session.get(Issue, "1170820242")
        assert issue is not None and issue.environment == "prod\ufffd"


def test_concurrent_webhooks_through_the_route_count_every_event_once(services: Services) -> None:
    base = json.loads((SENTRY / "error.created.json").read_text())
    requests = []
    for n in range(40):
        payload = deepcopy(base)
        payload["data"]["error"]["issue_id"] = str(900 + n % 5)
        payload["data"]["error"]["event_id"] = f"{n % 30:032x}"  # ten of them are retries
        body = compact(payload)
        requests.append((body, sentry_headers("error", body)))

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://triagebot.test") as client:
            posts = [client.post("/webhooks/sentry", content=body, headers=head) for body, head in requests]
            return await asyncio.gather(*posts)

    answers = asyncio.run(send_all())

    assert {answer.status_code for answer in answers} == {202}
    outcomes = [answer.json()["outcome"] for answer in answers]
    assert (outcomes.count("opened"), outcomes.count("duplicate")) == (5, 10)
    with services.sessions() as session:
        seen = {issue.id: issue.events_seen for issue in session.execute(select(Issue)).scalars()}
        roots = session.execute(select(OutboxMessage).where(OutboxMessage.kind == service.POST_ROOT)).all()
    assert seen == {str(900 + k): 6 for k in range(5)}  # 30 distinct events over 5 issues
    assert len(roots) == 5


def test_intake_on_postgresql_survives_losing_its_connection(client: TestClient, services: Services) -> None:
    if services.engine.dialect.name != "postgresql":
        pytest.skip("the asyncio intake connection is PostgreSQL's")

    def send(event_id: str) -> httpx.Response:
        payload = json.loads((SENTRY / "error.created.json").read_text())
        payload["data"]["error"]["event_id"] = event_id
        body = compact(payload)
        return client.post("/webhooks/sentry", content=body, headers=sentry_headers("error", body))

    with client:  # one event loop for both requests, so the second reuses the first one's connection
        assert send("1" * 32).status_code == 202
        with services.engine.connect() as admin:  # as a database restart or a failover would
            admin.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        answer = send("2" * 32)

    assert answer.status_code == 202, answer.text
    with services.sessions() as session:
        keys = {row.key for row in session.execute(select(Delivery)).scalars()}
        issue = session.get(Issue, "1170820242")
    assert {key.rsplit(":", 1)[1] for key in keys} == {"1" * 32, "2" * 32}
    assert issue is not None and issue.events_seen == 2
