"""normalize_event over every payload shape Sentry sends, fed with real captures."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from triagebot.errors import MalformedPayload
from triagebot.integrations.sentry.event import EventSummary, normalize_event, summarize_event

from .helpers import load_fixture


def test_event_alert_webhook_reads_data_event() -> None:
    event = normalize_event(load_fixture("event_alert.triggered.javascript_vue.json"))
    assert event.event_id == "292f78454e774e62999506f759ad791d"
    assert event.issue_id == "4214010673"
    assert event.project == "javascript-vue-new"
    assert event.sdk_name == "sentry.javascript.vue"
    assert event.is_browser
    assert event.environment == "production"
    assert event.transaction == "home"
    assert event.url == "http://localhost:5173/"
    assert event.exception_type == "TypeError"
    assert event.exception_value == "Cannot read properties of null (reading 'insertBefore')"
    assert event.handled is False
    assert len(event.frames) == 16 and event.frames[-1].function == "insert"
    assert [c.category for c in event.breadcrumbs] == ["console"] * 3 + ["navigation", "console"]
    assert event.breadcrumbs[3].data == {"from": "/", "to": "/"}
    assert event.tags["replayId"] == "f6eba8bdc1824d4faec200863e316c32"
    assert event.issue_web_url == "https://sentry.io/organizations/nitk-46/issues/4214010673/"


def test_error_webhook_reads_data_error() -> None:
    event = normalize_event(load_fixture("error.created.json"))
    assert (event.issue_id, event.exception_type) == ("1170820242", "ReferenceError")
    assert event.exception_value == "blooopy is not defined"
    assert event.title == "ReferenceError: blooopy is not defined"
    assert event.url == "https://null.jsbin.com/runner"
    assert event.request_method is None
    assert event.tags["browser"] == "Chrome 75.0.3770"


def test_legacy_plugin_takes_issue_fields_from_the_top() -> None:
    event = normalize_event(load_fixture("legacy_plugin.python.json"))
    assert event.issue_id == "4311163364"
    assert event.project == "python-raven"
    assert event.issue_web_url == "https://nitk-46.sentry.io/issues/4311163364/"
    assert event.message == "ZeroDivisionError: division by zero"
    assert not event.is_browser
    assert event.url is None


def test_sdk_event_and_api_event_agree() -> None:
    sdk = normalize_event(load_fixture("event.javascript_browser.sdk.json"))
    api = normalize_event(load_fixture("api.issue_latest_event.javascript_browser.json"))
    for event in (sdk, api):
        assert event.event_id == "34526172dfbe4c9c92bf1e6f14d6cd25"
        assert (event.exception_type, event.exception_value) == ("Error", "Error with context")
        assert event.url == "http://localhost:4201/"
        assert event.is_browser
        assert "body > app-root > ol > li > button" in [c.message for c in event.breadcrumbs]
    assert api.issue_id == "138"
    assert api.frames[0].abs_path == "http://localhost:4201/polyfills.js"
    assert api.frames[0].lineno == 1660 and api.frames[0].in_app is False
    assert api.tags["url"] == "http://localhost:4201/"


def test_backend_query_string_is_put_back_into_the_url() -> None:
    sdk = normalize_event(load_fixture("event.python_django.sdk.json"))
    api = normalize_event(load_fixture("api.issue_latest_event.python_django.json"))
    for event in (sdk, api):
        assert event.url == "http://localhost:8001/divide-zero/?foo=bar&foo=bars&lol=ha"
        assert event.request_method == "GET"
        assert event.request_query == "foo=bar&foo=bars&lol=ha"
        assert event.transaction == "/divide-zero/"
        assert not event.is_browser  # a `browser` context from the User-Agent does not make it one
        assert event.frames[-1].filename == "errors/views.py"
    assert api.level == "error"  # only in the tags of an API response


def test_flags_come_from_contexts() -> None:
    payload = load_fixture("event.javascript_browser.sdk.json")
    payload["contexts"] = {"flags": {"values": [{"flag": "new-checkout", "result": True}, {"x": 1}]}}
    assert normalize_event(payload).flags == (("new-checkout", True),)


def test_fragment_and_string_query_are_kept() -> None:
    payload = {
        "event_id": "a" * 32,
        "request": {"url": "https://shop.example/cart", "query_string": "?a=1", "fragment": "#/x"},
    }
    assert normalize_event(payload).url == "https://shop.example/cart?a=1#/x"


@pytest.mark.parametrize("name", ["issue.created.json", "comment.created.json", "metric_alert.resolved.json"])
def test_webhooks_without_an_event_name_the_missing_field(name: str) -> None:
    with pytest.raises(MalformedPayload, match=r"^data\.event: "):
        normalize_event(load_fixture(name))


@pytest.mark.parametrize("payload", [{}, {"hello": "world"}, [], "text"])
def test_non_events_are_refused(payload: object) -> None:
    with pytest.raises(MalformedPayload):
        normalize_event(payload)  # type: ignore[arg-type]


def test_wrongly_typed_fields_are_tolerated() -> None:
    event = normalize_event(
        {
            "event_id": 7,
            "breadcrumbs": {"values": [None, {"category": ["x"], "data": "nope"}]},
            "exception": {"values": "oops"},
            "tags": [["a"], ["b", 1], {"key": "c", "value": "d"}],
            "request": {"url": 12, "headers": "x"},
            "contexts": {"flags": {"values": None}},
        }
    )
    assert event.event_id == "7"
    assert event.breadcrumbs[0].category is None and event.breadcrumbs[0].data == {}
    assert event.tags == {"b": "1", "c": "d"}
    assert event.url == "12"  # kept as text; the deriver decides it is not a usable URL
    assert event.exception_type is None and event.frames == ()


LEGACY_NAMES = {
    "exception": "sentry.interfaces.Exception",
    "request": "sentry.interfaces.Http",
    "breadcrumbs": "sentry.interfaces.Breadcrumbs",
    "contexts": "sentry.interfaces.Contexts",
    "user": "sentry.interfaces.User",
}


def _as_sample_event(event: dict[str, object]) -> dict[str, object]:
    """Spell a real SDK event the way Sentry's sample events and old SDKs do: interfaces under their
    class paths, and none of the keys that mark a modern event."""
    renamed = {LEGACY_NAMES.get(key, key): value for key, value in event.items()}
    for modern in ("event_id", "platform", "sdk"):
        renamed.pop(modern, None)
    return renamed


@pytest.mark.parametrize("fixture", ["event.python_django.sdk.json", "event.javascript_browser.sdk.json"])
def test_sentry_interfaces_keys_are_read_as_their_canonical_names(fixture: str) -> None:
    original = load_fixture(fixture)
    modern = normalize_event(original)
    sample = normalize_event(_as_sample_event(original))
    assert sample.exception_type == modern.exception_type and sample.exception_type
    assert sample.exception_value == modern.exception_value
    assert sample.url == modern.url
    assert sample.breadcrumbs == modern.breadcrumbs
    assert sample.frames == modern.frames


def test_sample_events_in_an_alert_webhook_and_the_legacy_plugin_are_read_too() -> None:
    webhook = load_fixture("event_alert.triggered.javascript_vue.json")
    webhook["data"]["event"] = _as_sample_event(webhook["data"]["event"])
    assert normalize_event(webhook).exception_type == "TypeError"
    legacy = load_fixture("legacy_plugin.python.json")
    expected = normalize_event(legacy).exception_type
    legacy["event"] = _as_sample_event(legacy["event"])
    assert normalize_event(legacy).exception_type == expected


def test_a_sample_event_with_only_a_stacktrace_and_a_message_is_an_event() -> None:
    # The shape of Sentry's own python sample: a message interface, tag pairs and a bare stacktrace.
    frames = normalize_event(load_fixture("event.python_django.sdk.json")).frames
    sample = {
        "tags": [["level", "error"], ["environment", "prod"]],
        "sentry.interfaces.Message": {"message": "This is a test message", "params": []},
        "sentry.interfaces.Stacktrace": {
            "frames": [{"function": f.function, "filename": f.filename, "lineno": f.lineno} for f in frames]
        },
    }
    event = normalize_event(sample)
    assert (event.message, event.level, event.environment) == ("This is a test message", "error", "prod")
    assert [f.function for f in event.frames] == [f.function for f in frames]


def test_a_canonical_key_wins_over_its_legacy_spelling() -> None:
    event = load_fixture("event.python_django.sdk.json")
    event["sentry.interfaces.Exception"] = {"values": [{"type": "Decoy", "value": "ignored"}]}
    assert normalize_event(event).exception_type != "Decoy"


def test_an_old_single_exception_object_is_read() -> None:
    event = normalize_event({"sentry.interfaces.Exception": {"type": "ValueError", "value": "foo bar"}})
    assert (event.exception_type, event.exception_value) == ("ValueError", "foo bar")


def test_the_refusal_lists_what_is_accepted() -> None:
    with pytest.raises(MalformedPayload) as refused:
        normalize_event({"hello": "world"})
    for accepted in ("data.event", "entries", "event_id", "sentry.interfaces."):
        assert accepted in str(refused.value)


def _every_sentry_payload() -> list[Path]:
    return sorted(path for path in (FIXTURES / "sentry").rglob("*.json"))


@pytest.mark.parametrize("path", _every_sentry_payload(), ids=lambda path: path.name)
def test_the_summary_intake_keeps_reads_what_the_full_event_does(path: Path) -> None:
    payload = json.loads(path.read_text())
    try:
        full = normalize_event(payload)
    except MalformedPayload as exc:
        with pytest.raises(MalformedPayload, match=re.escape(str(exc))):
            summarize_event(payload)
        return
    summary = summarize_event(payload)
    assert summary == EventSummary(
        **{name: getattr(full, name) for name in EventSummary.__dataclass_fields__}
    )
