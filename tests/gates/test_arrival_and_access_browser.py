"""Reaching the code under test: a page that shows its controls before its script wires them up (the
gate acts once the page's own work is done, so a click right after the page loads is not lost), and a
replayed request the preview refuses with 401 (could not run, never a silent pass)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.gates.helpers import make_spec
from tests.support.httpserver import LocalServer
from triagebot.gates.runner import run_gate
from triagebot.settings import Settings
from triagebot.spec import loaded_before, parse_spec

pytestmark = pytest.mark.browser

# The button is in the HTML; its handler is attached only once /api/me answers, 400 ms later.
PAGE = b"""<!doctype html><html><body><button data-testid="invoice">Download invoice</button>
<script>
fetch("/api/me").then((answer) => answer.json()).then((me) => {
  document.querySelector("button").addEventListener("click", () => { throw new TypeError("no " + me.plan); });
});
</script></body></html>"""


def route(_method: str, path: str, _body: Any, _headers: dict[str, str]) -> tuple[int, dict[str, str], Any]:
    if path == "/api/me":
        time.sleep(0.4)
        return 200, {}, {"plan": "invoice"}
    return 200, {"Content-Type": "text/html"}, PAGE


@pytest.fixture
def app_url() -> Iterator[str]:
    with LocalServer(route) as server:
        yield server.url


def test_a_click_on_a_page_just_loaded_waits_for_its_handlers(settings: Settings, app_url: str) -> None:
    spec = make_spec(
        "hydration",
        start="/account",
        steps=[{"action": "click", "locator": {"strategy": "testid", "value": "invoice"}}],
        assertions={"page_error": {"type": "TypeError", "message": "no invoice"}},
    )
    result = run_gate([spec], base_url=app_url, settings=settings).results[0]
    assert result.status == "failed" and result.failure is not None
    assert result.failure.message == "page error TypeError: no invoice"


def test_the_steps_acting_on_a_page_just_arrived_at() -> None:
    click = {"action": "click", "locator": {"strategy": "css", "value": "a"}}
    spec = parse_spec(
        {
            "version": 1,
            "id": "arrivals",
            "issue": {"id": "1"},
            "start": "/",
            "steps": [
                click,
                click,
                {"action": "expect_url", "path": "/b"},
                click,
                {"action": "goto", "path": "/c"},
            ],
        }
    )
    assert loaded_before(spec) == {0, 3}


def test_a_replayed_request_the_preview_refuses_with_401_could_not_run(settings: Settings) -> None:
    spec = make_spec(
        "invoices",
        kind="http",
        steps=[{"action": "request", "method": "GET", "path": "/api/me/invoices"}],
    )
    with LocalServer(lambda _m, _p, _b, _h: (401, {}, {"detail": "Not authenticated"})) as server:
        result = run_gate([spec], base_url=server.url, settings=settings)
    assert result.verdict == "error" and result.results[0].status == "error"
    assert result.results[0].failure is not None
    assert "answered 401" in result.results[0].failure.message
