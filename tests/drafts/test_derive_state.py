"""Drafts for bugs that need state, derived from the event's shape: user, flags, typed and chosen values."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from triagebot.drafts.config import parse_preview_config
from triagebot.drafts.derive import derive_spec
from triagebot.integrations.sentry.event import normalize_event
from triagebot.spec import Check, Click, Fill, Press, Select, Spec, dump_spec, parse_spec


def browser_event(crumbs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A browser SDK event at https://app.example/page with these breadcrumbs."""
    return {
        "event_id": "e" * 32,
        "platform": "javascript",
        "sdk": {"name": "sentry.javascript.react"},
        "request": {"url": "https://app.example/page"},
        "exception": {"values": [{"type": "TypeError", "value": "x is undefined"}]},
        "breadcrumbs": {"values": crumbs},
        **extra,
    }


def derive(event: dict[str, Any], config: str | None = None) -> Spec:
    spec = derive_spec(normalize_event(event), preview=parse_preview_config(config))
    return parse_spec(yaml.safe_load(dump_spec(spec)))  # what a gate will load


def ui(category: str, selector: str) -> dict[str, Any]:
    return {"category": category, "message": selector}


def fetch(url: str, method: str = "GET", category: str = "fetch") -> dict[str, Any]:
    return {"type": "http", "category": category, "data": {"method": method, "url": url, "status_code": 200}}


@pytest.mark.parametrize(
    "user", [{"id": 7}, {"email": "[Filtered]"}, {"username": "ana"}, {"id": "u-1", "ip_address": "1.2.3.4"}]
)
def test_a_signed_in_user_makes_the_draft_sign_in_first(user: dict[str, Any]) -> None:
    spec = derive(browser_event([ui("ui.click", "button#go")], user=user))
    assert spec.sign_in and spec.version == 2
    assert any("signs in first" in note for note in spec.notes)
    assert "[Filtered]" not in dump_spec(spec) or "email" not in user  # values never copied


@pytest.mark.parametrize("user", [None, {}, {"ip_address": "{{auto}}"}, {"id": ""}, {"id": True}])
def test_no_user_no_sign_in(user: dict[str, Any] | None) -> None:
    extra = {} if user is None else {"user": user}
    spec = derive(browser_event([ui("ui.click", "button#go")], **extra))
    assert not spec.sign_in and spec.version == 1


@pytest.mark.parametrize(
    "crumb",
    [
        fetch("/api/auth/login", "POST"),
        fetch("https://app.example/session", "POST", "xhr"),
        {"category": "navigation", "data": {"from": "/", "to": "/sign-in"}},
        ui("ui.input", 'form > input#pw[type="password"]'),
    ],
)
def test_a_sign_in_in_the_breadcrumbs_is_replayed_not_added(crumb: dict[str, Any]) -> None:
    spec = derive(browser_event([crumb, ui("ui.click", "button#go")], user={"id": "1"}))
    assert not spec.sign_in
    assert any("signed in during the session" in note for note in spec.notes)


def test_the_typed_value_comes_from_the_request_that_followed_and_enter_submits() -> None:
    crumbs = [
        ui("ui.input", 'div > input.search[name="term"]'),
        fetch("https://cdn.other.example/log?term=nope"),  # another host: ignored
        fetch("/api/products?term=blue+mug&page=1"),
    ]
    spec = derive(browser_event(crumbs))
    fill, press = spec.steps
    assert isinstance(fill, Fill) and isinstance(press, Press)
    assert (fill.value, fill.synthetic, fill.source, press.key) == (
        "blue mug",
        False,
        "GET /api/products",
        "Enter",
    )
    assert "Step 1 types 'blue mug', taken from GET /api/products." in spec.notes


def test_a_click_between_typing_and_the_request_means_no_enter() -> None:
    crumbs = [ui("ui.input", 'input[name="q"]'), ui("ui.click", "button#search"), fetch("/api/s?q=lamp")]
    spec = derive(browser_event(crumbs))
    assert [type(step) for step in spec.steps] == [Fill, Click]
    assert spec.steps[0].value == "lamp"  # type: ignore[union-attr]


def test_a_navigation_carries_the_value_too() -> None:
    crumbs = [
        ui("ui.input", 'input#city[name="city_query"]'),
        {"category": "navigation", "data": {"from": "/page", "to": "/results?city_query=Oslo"}},
    ]
    spec = derive(browser_event(crumbs))
    assert isinstance(spec.steps[0], Fill) and spec.steps[0].value == "Oslo"
    assert isinstance(spec.steps[1], Press)


@pytest.mark.parametrize(
    "value",
    [
        "[Filtered]",
        "ana@example.org",
        "+47 912 34 567",
        "4111111111111111",
        "eyJhbGciOiJIUzI1NiJ9abc123",
        "ghp_1234567890abcdefABCDEF",
        "order 1234567",
    ],
)
def test_personal_or_filtered_values_stay_synthetic(value: str) -> None:
    from urllib.parse import quote

    crumbs = [ui("ui.input", 'input[name="q"]'), fetch(f"/api/s?q={quote(value)}")]
    spec = derive(browser_event(crumbs))
    fill = spec.steps[0]
    assert isinstance(fill, Fill) and fill.synthetic and fill.value != value
    assert value not in dump_spec(spec)


@pytest.mark.parametrize("name", ["password", "api_key", "session_token", "email"])
def test_values_of_secret_named_fields_stay_synthetic(name: str) -> None:
    crumbs = [ui("ui.input", f'input[name="{name}"]'), fetch(f"/api/x?{name}=harmless")]
    fill = derive(browser_event(crumbs)).steps[0]
    assert isinstance(fill, Fill) and fill.synthetic and fill.value != "harmless"


def test_a_select_takes_the_option_the_request_carried() -> None:
    crumbs = [
        ui("ui.click", 'form > select#ship-to[name="destination"]'),
        ui("ui.click", "button#quote"),
        fetch("/api/quote?destination=NO&weight=2"),
    ]
    spec = derive(browser_event(crumbs))
    select = spec.steps[0]
    assert isinstance(select, Select) and (select.value, select.source) == ("NO", "GET /api/quote")
    assert "Step 1 selects 'NO', taken from GET /api/quote." in spec.notes


def test_a_select_without_a_request_picks_the_first_non_empty_option_and_says_so() -> None:
    spec = derive(browser_event([ui("ui.click", 'select[name="size"]'), ui("ui.click", "button#add")]))
    select = spec.steps[0]
    assert isinstance(select, Select) and select.value is None
    assert any("first non-empty option" in note for note in spec.notes)


@pytest.mark.parametrize("kind", ["checkbox", "radio"])
def test_checkboxes_and_radios_are_checked(kind: str) -> None:
    spec = derive(browser_event([ui("ui.click", f'input#gift[type="{kind}"][name="gift"]')]))
    assert isinstance(spec.steps[0], Check) and spec.steps[0].checked


def test_setup_comes_from_the_apps_triagebot_context() -> None:
    setup = {"fixture": "order-with-lines", "data": {"lines": 47, "currency": "NOK"}}
    spec = derive(browser_event([ui("ui.click", "button#go")], contexts={"triagebot": {"setup": setup}}))
    assert spec.setup is not None
    assert (spec.setup.fixture, spec.setup.data) == ("order-with-lines", {"lines": 47, "currency": "NOK"})
    assert spec.setup.path == "/__triagebot/setup"


@pytest.mark.parametrize(
    "setup",
    [{"fixture": "../../etc"}, {"fixture": "a b"}, {"fixture": 3}, {"fixture": "ok", "data": [1]}, "x"],
)
def test_an_unusable_setup_context_is_noted_not_copied(setup: Any) -> None:
    spec = derive(browser_event([ui("ui.click", "button#go")], contexts={"triagebot": {"setup": setup}}))
    assert spec.setup is None
    if isinstance(setup, dict):
        assert any("contexts.triagebot.setup" in note for note in spec.notes)


def test_flags_are_recorded_and_the_notes_say_whether_the_test_sets_them() -> None:
    flags = {
        "flags": {"values": [{"flag": "new-basket", "result": True}, {"flag": "tier", "result": "gold"}]}
    }
    event = browser_event([ui("ui.click", "button#go")], contexts=flags)
    unset = derive(event)
    assert [(f.key, f.value) for f in unset.flags] == [("new-basket", True), ("tier", "gold")]
    assert any("may depend on the flags" in note and "preview.flags" in note for note in unset.notes)
    configured = derive(event, 'preview:\n  flags:\n    query: "ff_{name}"\n')
    assert any("as the query 'ff_{name}'" in note for note in configured.notes)


HOSTILE = ['"); process.exit(1); //', "${process.env.SECRET}", "</script>\u2028", "a\nb\r\nc", "x" * 5000]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_names_and_values_stay_data(hostile: str) -> None:
    event = browser_event(
        [
            ui("ui.input", f'input[name="{hostile}"]'),
            fetch("/api/s?" + "&".join(f"{k}={v}" for k, v in [(hostile, "v"), ("q", hostile)])),
            ui("ui.click", f'select[name="{hostile}"]'),
        ],
        user={"id": hostile},
        contexts={"flags": {"values": [{"flag": hostile, "result": hostile}]}},
    )
    spec = derive(event)  # loads back through the schema: every value is inert data in YAML
    assert spec.sign_in
    assert spec.flags[0].key == hostile[:256]  # kept as a value, cut to the schema's bound
    assert isinstance(spec.steps[-1], Select)


def test_a_parameter_named_unlike_the_field_is_taken_from_the_next_request() -> None:
    crumbs = [
        ui("ui.input", 'input#site-search[name="search"]'),
        ui("ui.input", 'input#site-search[name="search"]'),  # a second burst of typing: one fill
        fetch("/api/find?page=2&q=desk"),
    ]
    spec = derive(browser_event(crumbs))
    assert [(type(s).__name__, getattr(s, "value", None)) for s in spec.steps] == [
        ("Fill", "desk"),
        ("Press", None),
    ]


def test_an_ambiguous_request_leaves_the_value_synthetic() -> None:
    crumbs = [ui("ui.input", 'input[name="search"]'), fetch("/api/find?q=desk&category=office")]
    fill = derive(browser_event(crumbs)).steps[0]
    assert isinstance(fill, Fill) and fill.synthetic


def test_a_request_after_another_field_is_not_this_fields() -> None:
    crumbs = [
        ui("ui.input", 'input[name="first"]'),
        ui("ui.input", 'input[name="second"]'),
        fetch("/api/find?term=desk"),
    ]
    first, second = derive(browser_event(crumbs)).steps[:2]
    assert isinstance(first, Fill) and first.synthetic
    assert isinstance(second, Fill) and second.value == "desk"


def test_typed_fields_only_take_a_value_from_a_parameter_of_their_own_name() -> None:
    crumbs = [ui("ui.input", 'input[type="number"][name="qty"]'), fetch("/api/track?step=cart")]
    fill = derive(browser_event(crumbs)).steps[0]
    assert isinstance(fill, Fill) and fill.synthetic  # "cart" would not fit a number field
    crumbs = [ui("ui.input", 'input[type="number"][name="qty"]'), fetch("/api/cart?qty=47")]
    fill = derive(browser_event(crumbs)).steps[0]
    assert isinstance(fill, Fill) and fill.value == "47" and not fill.synthetic


def test_a_choice_whose_handler_changes_the_url_is_waited_for_not_reloaded() -> None:
    # A sort <select> rewrites the query from its change handler (replaceState): reloading that URL
    # instead would race the error the change set off.
    crumbs = [
        ui("ui.click", 'main > select#sort[name="sort"]'),
        {"category": "navigation", "data": {"from": "/tickets", "to": "/tickets?sort=priority"}},
    ]
    spec = derive(browser_event(crumbs, request={"url": "https://app.example/tickets?sort=priority"}))
    assert [step.action for step in spec.steps] == ["select", "expect_url"]
    assert spec.steps[1].path == "/tickets?sort=priority"  # type: ignore[union-attr]
