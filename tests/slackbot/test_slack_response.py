"""The response_url sender: Slack's answers map to the outbox's retry and give-up outcomes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from triagebot.errors import PermanentFailure, RetryLater
from triagebot.integrations.slack_response import RESPOND, ResponseDelivery
from triagebot.outbox.models import OutboxMessage
from triagebot.settings import Settings

ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/ok": (200, {}, b"ok"),
    "/limited": (429, {"Retry-After": "7"}, b"rate_limited"),
    "/down": (503, {"retry-after": "2.5"}, b"unavailable"),
    "/expired": (404, {}, b"expired_url"),
}
received: list[tuple[str, bytes]] = []


class _Hooks(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        received.append((self.path, self.rfile.read(int(self.headers.get("Content-Length") or 0))))
        status, headers, body = ANSWERS[self.path]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hooks() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def deliver(base: str, url: str) -> None:
    settings = Settings(_env_file=None, slack_api_url=base + "/api/")  # type: ignore[call-arg]
    message = OutboxMessage(kind=RESPOND, payload={"response_url": url, "body": {"text": "hi"}})
    ResponseDelivery(settings, timeout=5)(message)


def test_an_answer_is_posted_as_json(hooks: str) -> None:
    received.clear()
    deliver(hooks, hooks + "/ok")
    assert received == [("/ok", b'{"text": "hi"}')]


def test_rate_limits_and_outages_are_retried_after_the_delay_slack_gives(hooks: str) -> None:
    with pytest.raises(RetryLater) as limited:
        deliver(hooks, hooks + "/limited")
    assert limited.value.after == 7.0
    with pytest.raises(RetryLater) as down:
        deliver(hooks, hooks + "/down")
    assert down.value.after == 2.5


def test_an_expired_url_is_given_up(hooks: str) -> None:
    with pytest.raises(PermanentFailure, match="404 expired_url"):
        deliver(hooks, hooks + "/expired")


def test_a_closed_port_is_retried(hooks: str) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(RetryLater):
        deliver(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{port}/ok")


def test_a_url_off_slack_is_refused_without_a_call(hooks: str) -> None:
    received.clear()
    with pytest.raises(PermanentFailure, match="refused"):
        deliver("https://slack.com", hooks + "/ok")
    assert received == []
