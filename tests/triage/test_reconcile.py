"""The reconcile job opens threads for issues whose webhooks never arrived, and only for those."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import FIXTURES
from tests.support.fake_sentry import FakeSentry
from tests.support.fake_slack import FakeSlack
from tests.support.signing import fixture_request
from triagebot.bootstrap import Services
from triagebot.jobs.scheduler import run_job
from triagebot.triage.models import Issue


def test_missed_issues_get_a_thread_known_ones_do_not(
    client: TestClient, services: Services, fake_slack: FakeSlack, fake_sentry: FakeSentry
) -> None:
    body, headers = fixture_request(FIXTURES / "sentry" / "issue.created.json")
    assert client.post("/webhooks/sentry", content=body, headers=headers).status_code == 202
    known = json.loads(body)["data"]["issue"]
    missed = {**known, "id": "555", "shortId": "FRONT-END-10", "title": "TypeError: missed webhook"}
    fake_sentry.issues = [known, missed]

    assert run_job(services, "sentry-reconcile") == "opened 1 missed threads"
    services.outbox.drain()

    listing = [req for req in fake_sentry.requests if req[1] == "/api/0/organizations/acme/issues/"]
    assert len(listing) == 1
    with services.sessions() as session:
        ids = sorted(issue.id for issue in session.execute(select(Issue)).scalars())
    assert ids == ["1170820242", "555"]
    roots = [call.args["text"] for call in fake_slack.of("chat.postMessage") if "thread_ts" not in call.args]
    assert roots == [
        "FRONT-END-9: ReferenceError: blooopy is not defined",
        "FRONT-END-10: TypeError: missed webhook",
    ]
    assert run_job(services, "sentry-reconcile") == "opened 0 missed threads"
