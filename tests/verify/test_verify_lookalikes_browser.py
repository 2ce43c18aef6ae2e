"""Look-alike elements: a nav bar's links and a list's buttons share their markup, and breadcrumbs never
carry an element's text. The gate acts only on a locator that finds one element (as Playwright Test
does), the draft names a link by where it led, and verification narrows a list's button to its row.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.httpserver import LocalServer
from triagebot.drafts.derive import derive_spec
from triagebot.gates.runner import run_gate
from triagebot.integrations.sentry.event import normalize_event
from triagebot.settings import Settings
from triagebot.spec import Click, ExpectUrl

pytestmark = pytest.mark.browser

# One page for every path: a nav bar of look-alike links, and on /library a list whose rows each
# have a Reserve button; on the buggy build only book 413's throws.
PAGE = """<!doctype html><html><body>
<nav class="sidebar"><a class="nav-link" href="/">Home</a><a class="nav-link" href="/library">Library</a>
<a class="nav-link" href="/account">Account</a></nav>
<main id="main"></main>
<script>
const BUGGY = %s;
function render() {
  const main = document.getElementById("main");
  if (location.pathname !== "/library") { main.textContent = location.pathname; return; }
  const button = '<button type="button" name="reserve">Reserve</button>';
  const rows = [411, 412, 413].map(id => '<li id="book-' + id + '" class="result">' + button + "</li>");
  main.innerHTML = '<ol id="results">' + rows.join("") + "</ol>";
  for (const button of main.querySelectorAll("button")) {
    button.addEventListener("click", () => {
      const book = button.parentElement.id === "book-413" && BUGGY ? undefined : {copies: 1};
      document.title = "copies: " + book.copies;
    });
  }
}
for (const link of document.querySelectorAll("a.nav-link")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    history.pushState({}, "", link.getAttribute("href"));
    render();
  });
}
render();
</script></body></html>"""

EVENT: dict[str, Any] = {
    "event_id": "c0ffee00c0ffee00c0ffee00c0ffee00",
    "platform": "javascript",
    "request": {"url": "https://app.example.com/library"},
    "exception": {
        "values": [
            {
                "type": "TypeError",
                "value": "Cannot read properties of undefined (reading 'copies')",
                "mechanism": {"type": "instrument", "handled": False},
            }
        ]
    },
    "breadcrumbs": {
        "values": [
            {"category": "ui.click", "message": "body > nav.sidebar > a.nav-link", "timestamp": 1.0},
            {"category": "navigation", "data": {"from": "/", "to": "/library"}, "timestamp": 1.1},
            {
                "category": "ui.click",
                "message": "body > main#main > ol#results > li#book-413.result"
                ' > button[type="button"][name="reserve"]',
                "timestamp": 2.0,
            },
        ]
    },
}


def serve(buggy: bool) -> Iterator[str]:
    page = (PAGE % ("true" if buggy else "false")).encode()
    with LocalServer(
        lambda _method, _path, _body, _headers: (200, {"Content-Type": "text/html"}, page)
    ) as server:
        yield server.url


@pytest.fixture
def buggy_url() -> Iterator[str]:
    yield from serve(True)


@pytest.fixture
def fixed_url() -> Iterator[str]:
    yield from serve(False)


def test_the_draft_names_a_look_alike_link_by_where_it_led() -> None:
    spec = derive_spec(normalize_event(EVENT))
    link, arrived = spec.steps[0], spec.steps[1]
    assert isinstance(link, Click) and link.locator.value == 'a.nav-link[href="/library"]'
    assert arrived == ExpectUrl(path="/library")


def test_a_locator_matching_several_elements_fails_the_step_and_says_so(
    settings: Settings, buggy_url: str
) -> None:
    spec = derive_spec(normalize_event(EVENT))
    result = run_gate([spec], base_url=buggy_url, settings=settings).results[0]
    assert result.status == "failed" and result.failure is not None
    assert result.failure.step_index == 2
    assert "resolved to 3 elements" in result.failure.message


def test_verification_narrows_the_button_to_its_row_and_the_gate_agrees(
    settings: Settings, buggy_url: str, fixed_url: str
) -> None:
    from triagebot.verify.run import verify_draft

    event = normalize_event(EVENT)
    outcome = verify_draft(derive_spec(event), base_url=buggy_url, settings=settings, event=event)

    assert outcome.verdict.result == "reproduced", outcome.tried
    click, drafted = outcome.spec.steps[2], derive_spec(event).steps[2]
    assert isinstance(click, Click) and "li#book-413" in click.locator.value
    assert isinstance(drafted, Click)
    # The notes on the steps speak of the steps kept, not of the draft's.
    step_notes = [note for note in outcome.spec.notes if note.startswith("Step")]
    assert any(click.locator.value in note for note in step_notes)
    assert not any(drafted.locator.value in note for note in step_notes)
    assert run_gate([outcome.spec], base_url=buggy_url, settings=settings).verdict == "failed"
    assert run_gate([outcome.spec], base_url=fixed_url, settings=settings).verdict == "passed"


ANNOTATED = b"""<!doctype html><html><body><div id="app"><section data-sentry-component="CartSummary">
<button type="button" data-sentry-element="ClearCartButton">Clear</button></section></div>
<script>
document.querySelector("button").addEventListener("click", () => { null.items; });
</script></body></html>"""


def test_a_component_annotation_names_an_element_inside_a_component_too(settings: Settings) -> None:
    # The bundler plugin marks the elements inside a component with data-sentry-element, and the SDK
    # writes that name alone, as it does a component's.
    event = normalize_event(
        {
            **EVENT,
            "request": {"url": "https://app.example.com/cart"},
            "exception": {"values": [{"type": "TypeError", "value": "Cannot read properties of null"}]},
            "breadcrumbs": {
                "values": [
                    {
                        "category": "ui.click",
                        "message": "div#app > CartSummary > ClearCartButton",
                        "data": {"ui.component_name": "ClearCartButton"},
                    }
                ]
            },
        }
    )
    with LocalServer(lambda _m, _p, _b, _h: (200, {"Content-Type": "text/html"}, ANNOTATED)) as server:
        result = run_gate([derive_spec(event)], base_url=server.url, settings=settings).results[0]
    assert result.failure is not None
    assert result.failure.message.startswith("page error TypeError: Cannot read properties of null")
