"""Signing test requests exactly as Sentry, Slack and GitHub do."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

SENTRY_SECRET = "sentry-client-secret-for-tests"
SLACK_SECRET = "slack-signing-secret-for-tests"
GITHUB_SECRET = "github-webhook-secret-for-tests"


SLACK_CLICK = Path(__file__).parents[1] / "fixtures" / "slack" / "block_actions_button_click.json"


def compact(data: Any) -> bytes:
    """Serialise like Sentry: compact separators, ASCII-escaped."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True).encode()


def sentry_headers(resource: str, body: bytes, secret: str = SENTRY_SECRET) -> dict[str, str]:
    """Headers of a signed integration-platform webhook."""
    return {
        "Content-Type": "application/json",
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": str(int(time.time())),
        "Sentry-Hook-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        "Request-ID": "0" * 32,
    }


def fixture_request(path: Path) -> tuple[bytes, dict[str, str]]:
    """Load a Sentry fixture named `<resource>.<action>[...].json` and sign it for sending."""
    body = compact(json.loads(path.read_text()))
    return body, sentry_headers(path.name.split(".", 1)[0], body)


def slack_headers(body: bytes, secret: str = SLACK_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Headers of a signed Slack request (`v0:` scheme)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": SignatureVerifier(secret).generate_signature(timestamp=ts, body=body),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def github_headers(event: str, body: bytes, delivery: str, secret: str = GITHUB_SECRET) -> dict[str, str]:
    """Headers of a signed GitHub webhook."""
    return {
        "Content-Type": "application/json",
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
    }


def click_body(action_id: str, value: str, user: str = "U111") -> bytes:
    """A block_actions body for one of our buttons, built from Slack's own example (form-encoded)."""
    payload = json.loads(SLACK_CLICK.read_text())
    payload["user"]["id"] = user
    payload["channel"]["id"] = payload["container"]["channel_id"] = "C0TRIAGE"
    payload["actions"][0].update(action_id=action_id, value=value)
    return urlencode({"payload": json.dumps(payload)}).encode()
