"""A Slack request held up inside Bolt must not hold up any other route: Bolt runs off the event loop."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FIXTURES
from tests.support.fake_slack import FakeSlack
from tests.support.httpserver import Reply
from tests.support.signing import fixture_request, slack_headers
from triagebot.app import create_app
from triagebot.bootstrap import Services

HOLD = 5.0  # the longest Slack keeps the held call; far longer than any route below may take


class SlowSlack(FakeSlack):
    """Slack whose auth.test (which Bolt calls before the first listener runs) answers only when told."""

    def __init__(self) -> None:
        self.arrived, self.released = threading.Event(), threading.Event()
        super().__init__()

    def _route(self, verb: str, path: str, body: Any, headers: dict[str, str]) -> Reply:
        if path.endswith("/auth.test"):
            self.arrived.set()
            self.released.wait(HOLD)
        return super()._route(verb, path, body, headers)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """The slow Slack, in place of the usual fake."""
    slack = SlowSlack()
    yield slack
    slack.released.set()
    slack.stop()


def test_a_held_slack_request_delays_neither_healthz_nor_a_sentry_webhook(
    services: Services, fake_slack: SlowSlack
) -> None:
    form = {
        "command": "/triage",
        "text": "help",
        "user_id": "U111",
        "channel_id": "C0TRIAGE",
        "team_id": "T0001",
        "response_url": "https://hooks.slack.com/commands/T0001/1/abc",
        "trigger_id": "1.2.3",
    }
    command = urlencode(form).encode()
    body, headers = fixture_request(FIXTURES / "sentry" / "error.created.json")
    with TestClient(create_app(services)) as client:
        slack_answer: list[int] = []
        held = threading.Thread(
            target=lambda: slack_answer.append(
                client.post("/slack/events", content=command, headers=slack_headers(command)).status_code
            )
        )
        held.start()
        assert fake_slack.arrived.wait(HOLD), "Bolt never called Slack"

        began = time.monotonic()
        health = client.get("/healthz")
        webhook = client.post("/webhooks/sentry", content=body, headers=headers)
        took = time.monotonic() - began
        still_held = not fake_slack.released.is_set() and held.is_alive()

        fake_slack.released.set()
        held.join(HOLD * 2)

    assert (health.status_code, webhook.status_code) == (200, 202)
    # Both were answered while the Slack request still waited inside Bolt (a blocked loop would
    # have answered them only after Slack let go, HOLD seconds later).
    assert still_held, f"the other routes took {took:.2f}s, as long as the held Slack request"
    assert slack_answer == [200]
