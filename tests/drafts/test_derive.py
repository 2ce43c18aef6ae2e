"""derive_spec over every event-bearing fixture: the exact steps, locators and assertions."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from triagebot.drafts.derive import NothingToReplay, derive_spec, repo_relative, to_path
from triagebot.integrations.sentry.event import normalize_event
from triagebot.spec import Click, ExpectUrl, Fill, Goto, Locator, Request, Spec, dump_spec

from .helpers import load_fixture

APP_ROOT_BUTTON = Locator(
    strategy="css",
    value="body > app-root > ol > li > button",
    weak=True,
    source="body > app-root > ol > li > button",
)


def draft(name: str, **kwargs: object) -> Spec:
    return derive_spec(normalize_event(load_fixture(name)), **kwargs)  # type: ignore[arg-type]


def test_coupon_event_replays_clicks_inputs_and_navigation() -> None:
    spec = draft("drafts/event.javascript_browser.coupon.sdk.json")
    assert spec.kind == "browser" and spec.start == "/"
    assert spec.steps == [
        Click(
            locator=Locator(
                strategy="testid",
                value="open-cart",
                attribute="data-testid",
                source='body > div#app > button.css-1q2w3e4[data-testid="open-cart"]',
            )
        ),
        ExpectUrl(path="/cart"),  # explained by the click, so not a goto
        Fill(
            locator=Locator(
                strategy="role",
                value="textbox",
                name="Coupon code",
                source='div#app > form.sc-bdVaJa > input.css-9z8y7x[type="text"][name="coupon"]'
                '[aria-label="Coupon code"]',
            ),
            value="test",
        ),
        Click(
            locator=Locator(
                strategy="role",
                value="button",
                name="Apply coupon",
                source='div#app > form.sc-bdVaJa > button.css-5t6y7u[type="button"]'
                '[aria-label="Apply coupon"]',
            )
        ),
    ]
    assert spec.assertions.page_error is not None
    assert spec.assertions.page_error.type == "TypeError"
    assert spec.assertions.page_error.message == "Cannot read properties of null (reading 'textContent')"
    assert spec.assertions.text_absent == ["Cannot read properties of null (reading 'textContent')"]
    assert [(f.key, f.value) for f in spec.flags] == [("new-coupon-box", True), ("dark-mode", False)]
    assert spec.covers.routes == ["/", "/cart"]
    assert spec.covers.paths == ["src/cart/applyCoupon.js", "assets/app.js"]
    assert spec.issue.release == "shop@1.4.2"
    assert any("made-up value 'test'" in note for note in spec.notes)


def test_issue_metadata_names_the_spec() -> None:
    issue = load_fixture("issue.created.json")["data"]["issue"]
    spec = draft("error.created.json", issue=issue)
    assert spec.id == "front-end-9"
    assert (spec.issue.id, spec.issue.short_id) == ("1170820242", "FRONT-END-9")
    assert spec.issue.link == "https://sentry.io/organizations/test-org/issues/1170820242/"
    assert spec.issue.culprit == "?(runner)"


def test_error_webhook_without_breadcrumbs_loads_the_page() -> None:
    spec = draft("error.created.json")
    assert spec.id == "sentry-1170820242"
    assert (spec.start, spec.steps) == ("/runner", [])
    assert spec.assertions.page_error is not None
    assert spec.assertions.page_error.type == "ReferenceError"
    assert spec.assertions.page_error.message == "blooopy is not defined"
    assert spec.covers.routes == ["/runner"]


def test_event_alert_from_chrome_keeps_the_message() -> None:
    spec = draft("event_alert.triggered.json")
    assert (spec.id, spec.start, spec.steps) == ("sentry-1117540176", "/runner", [])
    assert spec.assertions.page_error is not None
    assert spec.assertions.page_error.message == "heck is not defined"
    assert spec.covers.paths == []  # jsbin's runner and <anonymous> are not app code


def test_vue_event_ignores_router_start_and_vendor_frames() -> None:
    spec = draft("event_alert.triggered.javascript_vue.json")
    assert (spec.start, spec.steps) == ("/", [])  # the `/` -> `/` crumb is router start-up
    assert spec.covers.paths == []  # every frame is under node_modules/.vite
    assert spec.issue.link == "https://sentry.io/organizations/nitk-46/issues/4214010673/"
    assert spec.assertions.text_absent == ["Cannot read properties of null (reading 'insertBefore')"]


@pytest.mark.parametrize(
    "name", ["event.javascript_browser.sdk.json", "api.issue_latest_event.javascript_browser.json"]
)
def test_angular_clicks_fall_back_to_a_weak_css_path(name: str) -> None:
    spec = draft(name)
    assert spec.start == "/"
    assert all(step == Click(locator=APP_ROOT_BUTTON) for step in spec.steps)
    assert len(spec.steps) == (2 if "sdk" in name else 1)
    assert any("CSS path (body > app-root > ol > li > button)" in note for note in spec.notes)


def test_firefox_wording_is_not_required_of_chromium() -> None:
    payload = load_fixture("api.issue_latest_event.javascript_browser.json")
    payload["entries"][0]["data"]["values"][0]["type"] = "TypeError"
    spec = derive_spec(normalize_event(payload))
    assert spec.assertions.page_error is not None
    assert (spec.assertions.page_error.type, spec.assertions.page_error.message) == ("TypeError", None)
    assert any("Firefox" in note for note in spec.notes)


def test_transaction_without_exception_still_checks_for_errors() -> None:
    spec = draft("transaction.javascript_browser.sdk.json")
    assert spec.steps == [Click(locator=APP_ROOT_BUTTON)]
    assert spec.assertions.page_error is not None
    assert (spec.assertions.page_error.type, spec.assertions.page_error.message) == (None, None)
    assert spec.assertions.text_absent == []


@pytest.mark.parametrize(
    "name", ["event.python_django.sdk.json", "api.issue_latest_event.python_django.json"]
)
def test_backend_event_replays_the_request(name: str) -> None:
    spec = draft(name)
    assert spec.kind == "http" and spec.start is None
    assert spec.steps == [Request(method="GET", path="/divide-zero/?foo=bar&foo=bars&lol=ha")]
    assert spec.assertions.page_error is None and spec.assertions.no_server_errors
    assert spec.assertions.text_absent == ["division by zero"]
    assert spec.covers.routes == ["/divide-zero/"]
    # The raw SDK marks Django's own frames in_app; their site-packages paths give them away.
    assert spec.covers.paths == ["errors/views.py"]


def test_script_error_without_a_request_cannot_be_replayed() -> None:
    with pytest.raises(NothingToReplay, match="nothing to replay"):
        draft("legacy_plugin.python.json")


def test_backend_body_and_query_lose_personal_values() -> None:
    payload = load_fixture("event.python_django.sdk.json")
    payload["request"].update(
        method="POST",
        query_string="email=ann@corp.example&page=2",
        data={"email": "ann@corp.example", "quantity": 0, "note": "call me", "sku": "A-1"},
    )
    (step,) = derive_spec(normalize_event(payload)).steps
    assert isinstance(step, Request)
    assert step.method == "POST" and step.path == "/divide-zero/?email=qa%40example.com&page=2"
    assert step.headers == {"Content-Type": "application/json"}
    assert step.body == '{"email": "qa@example.com", "quantity": 0, "note": "xxxx xx", "sku": "A-1"}'


def test_a_body_sent_as_text_loses_its_personal_values_field_by_field() -> None:
    # Node's SDK sends the raw body text; the replay keeps its shape and none of its values.
    payload = load_fixture("event.python_django.sdk.json")
    raw = {
        "name": "Zoë 🎉",
        "password": "hunter2-S3cret!",
        "card_number": "4111111111111111",
        "phone": "+44 7700",
    }
    payload["request"].update(
        method="PUT", data=json.dumps(raw), headers={"Content-Type": "application/json"}
    )
    spec = derive_spec(normalize_event(payload))
    (step,) = spec.steps
    assert isinstance(step, Request) and step.body is not None
    assert json.loads(step.body) == {
        "name": "Xxé \U0001f642",
        "password": "redacted",
        "card_number": "redacted",
        "phone": "+77 7777",
    }
    for secret in ("hunter2", "4111", "Zo", "7700"):
        assert secret not in dump_spec(spec)
    assert any("(name, password, card_number, phone)" in note for note in spec.notes)


def test_a_form_body_sent_as_text_is_scrubbed_as_a_form() -> None:
    payload = load_fixture("event.python_django.sdk.json")
    payload["request"].update(
        method="POST",
        data="cart=3&email=ann%40corp.example&gift=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    (step,) = derive_spec(normalize_event(payload)).steps
    assert isinstance(step, Request)
    assert step.body == "cart=3&email=qa%40example.com&gift=1"
    assert step.headers == {"Content-Type": "application/x-www-form-urlencoded"}


def test_a_body_sentry_did_not_keep_is_said_to_be_missing() -> None:
    payload = load_fixture("event.python_django.sdk.json")
    payload["request"].update(method="POST", data="", headers={"Content-Length": "15610"})
    spec = derive_spec(normalize_event(payload))
    assert spec.steps == [Request(method="POST", path="/divide-zero/?foo=bar&foo=bars&lol=ha")]
    assert any(note.startswith("Sentry kept no request body") for note in spec.notes)


def test_unexplained_navigation_becomes_a_goto_and_foreign_ones_stop() -> None:
    payload = load_fixture("drafts/event.javascript_browser.coupon.sdk.json")
    payload["breadcrumbs"] = [
        {"category": "navigation", "data": {"from": "/start?x=1", "to": "/next"}},
        {"category": "ui.click", "message": "a#help"},
        {"category": "navigation", "data": {"from": "/next", "to": "https://evil.example/phish"}},
        {"category": "ui.click", "message": "button#never"},
    ]
    spec = derive_spec(normalize_event(payload))
    assert spec.start == "/start?x=1"
    assert spec.steps == [
        Goto(path="/next"),
        Click(locator=Locator(strategy="css", value="a#help", source="a#help")),
    ]
    assert any("left the app" in note for note in spec.notes)


def test_configured_test_id_attribute_wins() -> None:
    payload = load_fixture("drafts/event.javascript_browser.coupon.sdk.json")
    payload["breadcrumbs"] = [{"category": "ui.click", "message": 'button[data-qa="pay"][aria-label="Pay"]'}]
    spec = derive_spec(normalize_event(payload), test_id_attribute="data-qa")
    (step,) = spec.steps
    assert isinstance(step, Click)
    assert (step.locator.strategy, step.locator.value, step.locator.attribute) == ("testid", "pay", "data-qa")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://shop.example/a/b?q=1#top", "/a/b?q=1#top"),
        ("/relative?x=y", "/relative?x=y"),
        ("//evil.example/x", None),
        ("https://other.example/x", None),
        ("javascript:alert(1)", None),
        ("file:///home/me/index.html", None),
        ("https://shop.example/a b\\c\n", "/a%20b%5Cc"),
        ("https://shop.example////double", "/double"),
    ],
)
def test_urls_become_paths_on_the_app(url: str, path: str | None) -> None:
    assert to_path(url, "https://shop.example") == path


@pytest.mark.parametrize(
    ("filename", "relative"),
    [
        ("webpack://shop/./src/cart/applyCoupon.js", "src/cart/applyCoupon.js"),
        ("webpack:///./src/index.tsx", "src/index.tsx"),
        ("app:///src/main.ts", "src/main.ts"),
        ("https://shop.example/static/js/app.js?v=3", "static/js/app.js"),
        ("/app/server/routes.py", "server/routes.py"),
        ("/code/errors/views.py", "errors/views.py"),
        ("./lib/util.js", "lib/util.js"),
        ("/node_modules/.vite/deps/chunk-G4DFXOZZ.js", None),
        ("/usr/local/lib/python3.8/site-packages/django/core/handlers/base.py", None),
        ("<anonymous>", None),
        ("node:internal/process/task_queues", None),
        ("../../etc/passwd", None),
    ],
)
def test_frame_files_are_made_repo_relative(filename: str, relative: str | None) -> None:
    assert repo_relative(filename) == relative


def _without_issue(fixture: str) -> dict[str, Any]:
    event: dict[str, Any] = load_fixture(fixture)
    for key in ("issue_id", "group_id"):
        event.pop(key, None)
    return event


def test_events_without_an_issue_are_named_by_their_whole_event_id() -> None:
    first = _without_issue("event.python_django.sdk.json")
    second = dict(first, event_id=first["event_id"][:12] + "0" * 20)  # same prefix, another event
    ids = {derive_spec(normalize_event(event)).id for event in (first, second)}
    assert ids == {f"sentry-event-{first['event_id']}", f"sentry-event-{second['event_id']}"}


def test_events_without_any_id_get_a_stable_hash_never_shared_by_different_events() -> None:
    base = _without_issue("event.python_django.sdk.json")
    del base["event_id"]
    hostile = dict(base, event_id="../../<!channel> `${x}`")  # not Sentry's 32 hex digits
    other = dict(base, transaction="/another/page")
    names = [derive_spec(normalize_event(event)).id for event in (base, base, hostile, other)]
    assert names[0] == names[1]  # the same event, drafted twice, is the same file
    assert len({names[0], names[2], names[3]}) == 3
    assert all(re.fullmatch(r"sentry-event-h[0-9a-f]{24}", name) for name in names)
