"""Verdicts from gate results: only the issue's own error counts as reproduced."""

from __future__ import annotations

import yaml

from triagebot.backfill.delivery import verdict_line
from triagebot.backfill.models import RegressionTest
from triagebot.drafts.derive import derive_spec
from triagebot.gates.models import Attempt, Failure, SpecResult
from triagebot.integrations.sentry.event import normalize_event
from triagebot.settings import Settings
from triagebot.spec import (
    Assertions,
    Click,
    ExceptionInfo,
    ExpectUrl,
    Fill,
    IssueRef,
    Locator,
    PageError,
    Press,
    Request,
    Spec,
    dump_spec,
    parse_spec,
)
from triagebot.verify.run import verify_draft
from triagebot.verify.variants import alternative_locators, further, variants
from triagebot.verify.verdict import classify

from .conftest import sample_payload

TYPE_ERROR = "TypeError: Cannot read properties of undefined (reading 'discount')"


def _browser_spec() -> Spec:
    return derive_spec(normalize_event(sample_payload()), issue={"id": "4501", "shortId": "SHOP-7"})


def _server_spec() -> Spec:
    return Spec(
        id="api-1",
        kind="http",
        issue=IssueRef(id="77", exception=ExceptionInfo(type="ZeroDivisionError", value="division by zero")),
        steps=[Request(method="POST", path="/api/orders?x=1")],
        assertions=Assertions(page_error=None, no_server_errors=True),
    )


def _failed(
    *messages: str, step_index: int | None = 4, step: str = "click testid=apply-coupon"
) -> SpecResult:
    attempts = [
        Attempt(
            number=n,
            passed=False,
            duration_ms=1,
            failure=Failure(step_index=step_index, step=step, message=m),
        )
        for n, m in enumerate(messages, start=1)
    ]
    return SpecResult(spec_id="s", issue_id="1", status="failed", attempts=attempts, duration_ms=2)


def test_the_issues_own_page_error_on_every_attempt_is_reproduced() -> None:
    message = f"page error {TYPE_ERROR}"
    verdict = classify(_browser_spec(), _failed(message, message))
    assert verdict.result == "reproduced"
    assert verdict.detail == f"step 5 (click testid=apply-coupon): {TYPE_ERROR}"


def test_another_exception_is_not_reproduced_and_says_what_was_seen() -> None:
    verdict = classify(_browser_spec(), _failed("page error RangeError: Invalid array length"))
    assert verdict.result == "not_reproduced"
    assert "a different page error, RangeError: Invalid array length" in verdict.detail


def test_same_type_with_another_message_is_not_reproduced() -> None:
    verdict = classify(_browser_spec(), _failed("page error TypeError: x is not a function"))
    assert verdict.result == "not_reproduced"


def test_reproduced_once_then_failing_otherwise_is_not_reproduced() -> None:
    result = _failed(f"page error {TYPE_ERROR}", "locator testid=apply-coupon: Timeout 3000ms exceeded")
    verdict = classify(_browser_spec(), result)
    assert verdict.result == "not_reproduced"
    assert verdict.detail.startswith("step 5 (click testid=apply-coupon): locator")


def test_a_pass_and_a_flaky_pass_are_not_reproduced() -> None:
    passed = SpecResult(
        spec_id="s",
        issue_id="1",
        status="passed",
        attempts=[Attempt(number=1, passed=True, duration_ms=1)],
        duration_ms=1,
    )
    assert classify(_browser_spec(), passed).result == "not_reproduced"
    flaky = passed.model_copy(update={"status": "flaky"})
    assert "does not count" in classify(_browser_spec(), flaky).detail


def test_infrastructure_failure_is_an_error() -> None:
    result = _failed("spec needs data setup but TRIAGEBOT_GATE_SETUP_SECRET is not set").model_copy(
        update={"status": "error"}
    )
    assert classify(_browser_spec(), result).result == "error"


def test_a_5xx_on_the_named_request_is_reproduced_and_elsewhere_is_not() -> None:
    spec = _server_spec()
    here = classify(spec, _failed("POST http://127.0.0.1:5000/api/orders?x=1 answered 500", step_index=0))
    assert here.result == "reproduced"
    assert here.detail == "step 1 (click testid=apply-coupon): POST /api/orders answered 500"
    elsewhere = classify(spec, _failed("GET http://127.0.0.1:5000/favicon.ico answered 500", step_index=0))
    assert elsewhere.result == "not_reproduced"
    assert "not the request the event names" in elsewhere.detail


def test_a_page_error_without_a_type_to_compare_is_never_reproduced() -> None:
    spec = _browser_spec()
    spec = spec.model_copy(
        update={"assertions": spec.assertions.model_copy(update={"page_error": PageError()})}
    )
    verdict = classify(spec, _failed(f"page error {TYPE_ERROR}"))
    assert verdict.result == "not_reproduced"


def test_hostile_messages_stay_text_on_one_line() -> None:
    hostile = "page error TypeError: <!channel> `${process.env}`\n</script>\u2028@here"
    verdict = classify(_browser_spec(), _failed(hostile))
    assert verdict.result == "not_reproduced"
    assert "\n" not in verdict.detail and "<!channel>" in verdict.detail  # escaped where it is shown


def test_alternative_locators_come_from_the_breadcrumb_and_leave_out_the_draft_own() -> None:
    apply = _browser_spec().steps[4]
    found = alternative_locators(apply.locator)  # type: ignore[union-attr]
    assert found and all(loc != apply.locator for loc in found)  # type: ignore[union-attr]
    assert {loc.strategy for loc in found} >= {"css"}


def test_variants_address_the_failing_step_first_and_never_repeat_the_draft() -> None:
    spec = _browser_spec()
    event = normalize_event(sample_payload())
    ranked = variants(spec, event=event, failed_step=4)
    assert ranked[0].change.startswith("step 5 finds its element by ")
    assert all(v.spec != spec for v in ranked)
    assert len({v.spec.model_dump_json() for v in ranked}) == len(ranked)
    passed = variants(spec, event=event, failed_step=None)
    assert not any("finds its element" in v.change for v in passed)
    assert any(v.change == "without the event's feature flags" for v in passed)


def test_typing_is_also_tried_with_enter_after_it_as_a_valid_schema_2_spec() -> None:
    field = Locator(strategy="name", value="q", source='input#search[type="search"][name="q"]')
    spec = _browser_spec().model_copy(
        update={"start": "/", "steps": [Fill(locator=field, value="test", synthetic=True)]}
    )
    [enter] = [v for v in variants(spec) if v.change == "step 1 is followed by pressing Enter"]
    assert enter.spec.steps[1] == Press(locator=field, key="Enter")
    assert parse_spec(yaml.safe_load(dump_spec(enter.spec))).version == 2


def test_a_url_that_never_came_retries_the_click_before_it_by_where_it_led() -> None:
    locator = Locator(strategy="css", value="nav > a.tab", weak=True, source="nav > a.tab > span.icon")
    spec = _browser_spec().model_copy(
        update={"start": "/", "steps": [Click(locator=locator), ExpectUrl(path="/projects/42?tab=settings")]}
    )
    ranked = variants(spec, failed_step=1)
    assert ranked[0].change.startswith("step 1 finds its element by ")
    assert [v.spec.steps[0].locator.value for v in ranked[:2]] == [  # type: ignore[union-attr]
        'a.tab[href="/projects/42?tab=settings"] > span.icon',
        'a.tab[href="/projects/42"] > span.icon',
    ]


def test_an_alternative_that_got_further_keeps_its_change_for_the_next_step() -> None:
    rows = 'ol > li#row-413 > button[type="button"][name="go"]'
    row_click = Click(locator=Locator(strategy="css", value="ol > li > button", weak=True, source=rows))
    base = _browser_spec().model_copy(update={"start": "/", "steps": [row_click, row_click]})
    [first, *_] = variants(base, failed_step=0)
    chained = further(first, 1)
    assert chained and all(v.change.startswith(first.change + ", and step 2 finds") for v in chained)
    assert any("li#row-413" in v.spec.steps[1].locator.value for v in chained)  # type: ignore[union-attr]
    assert all(v.spec.steps[0] == first.spec.steps[0] for v in chained)


def test_verifying_again_replaces_the_earlier_runs_notes(settings: Settings) -> None:
    spec = _browser_spec().model_copy(
        update={"notes": ["Step 4 types a made-up value.", "Verification also tried: step 4 types ''."]}
    )
    outcome = verify_draft(spec, base_url="https://shop.example.com", settings=settings)
    assert outcome.verdict.result == "error"  # a host not allowed: refused before any browsing
    assert outcome.spec.notes == ["Step 4 types a made-up value."]


def test_the_thread_line_escapes_what_the_page_threw() -> None:
    test = RegressionTest(
        issue_id="1",
        verdict="reproduced",
        verified_url="http://127.0.0.1:1",
        verdict_detail="step 1 (click css=b): Error: <!channel> <@U123> & <https://evil|x>",
    )
    line = verdict_line(test)
    assert line.startswith(":dart: Reproduced on http://127.0.0.1:1: step 1")
    assert "<!channel>" not in line and "<@U123>" not in line and "<https://evil" not in line
    assert "&lt;!channel&gt;" in line
