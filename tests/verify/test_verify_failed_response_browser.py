"""An app that throws on a failed response: the 5xx arrives first, the error the issue is about a
moment later. The run reports that error, so the draft is judged by the issue's own error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.httpserver import LocalServer
from triagebot.drafts.derive import derive_spec
from triagebot.gates.runner import run_gate
from triagebot.integrations.sentry.event import normalize_event
from triagebot.settings import Settings
from triagebot.verify.verdict import classify

pytestmark = pytest.mark.browser

PAGE = b"""<!doctype html><html><body><main id="content">
<button id="close-ticket" type="button">Close ticket</button></main>
<script>
document.getElementById("close-ticket").addEventListener("click", () => {
  // A synchronous request: its 500 is in before the click returns, the error 100 ms after.
  const request = new XMLHttpRequest();
  request.open("POST", "/api/tickets/7/close", false);
  request.send();
  const body = JSON.parse(request.responseText);
  setTimeout(() => { document.title = body.ticket.status; }, 100);
});
</script></body></html>"""

EVENT: dict[str, Any] = {
    "event_id": "5e0ec0de5e0ec0de5e0ec0de5e0ec0de",
    "platform": "javascript",
    "request": {"url": "https://tracker.example.org/tickets/7"},
    "exception": {
        "values": [
            {
                "type": "TypeError",
                "value": "Cannot read properties of undefined (reading 'status')",
                "mechanism": {"type": "instrument", "handled": False},
            }
        ]
    },
    "breadcrumbs": {
        "values": [
            {"category": "ui.click", "message": 'main#content > button#close-ticket[type="button"]'},
            {
                "type": "http",
                "category": "xhr",
                "data": {"method": "POST", "url": "/api/tickets/7/close", "status_code": 500},
            },
        ]
    },
}


def route(method: str, path: str, _body: Any, _headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    if method == "POST" and path == "/api/tickets/7/close":
        return 500, {}, {"error": "the ticket is locked"}
    return 200, {"Content-Type": "text/html"}, PAGE


@pytest.fixture
def app_url() -> Iterator[str]:
    with LocalServer(route) as server:
        yield server.url


def test_the_error_thrown_after_a_5xx_is_what_the_run_reports(settings: Settings, app_url: str) -> None:
    spec = derive_spec(normalize_event(EVENT))
    assert spec.assertions.no_server_errors

    result = run_gate([spec], base_url=app_url, settings=settings).results[0]

    assert result.failure is not None
    assert result.failure.message.startswith("page error TypeError: Cannot read properties of undefined")
    assert classify(spec, result).result == "reproduced"
