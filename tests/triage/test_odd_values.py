"""Sentry payloads whose values have the wrong type are read as "unknown", never a 500."""

from __future__ import annotations

import json

from tests.conftest import FIXTURES
from triagebot.integrations.sentry.webhooks import parse_webhook


def _load(name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((FIXTURES / "sentry" / name).read_text())
    return data


def test_an_assignee_without_a_textual_email_is_named_by_its_name() -> None:
    body = _load("issue.assigned.json")
    body["data"]["assignee"] = {"type": "team", "email": 12345, "name": "backend"}  # type: ignore[index]
    assert parse_webhook("issue", body).assignee == "backend"


def test_a_web_url_that_is_not_text_is_no_link() -> None:
    body = _load("event_alert.triggered.json")
    body["data"]["event"]["web_url"] = 12345  # type: ignore[index]
    assert parse_webhook("event_alert", body).web_url is None
