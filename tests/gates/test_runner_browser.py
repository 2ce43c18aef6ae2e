"""The runner in Chromium against Tiny Shop: the buggy build fails with evidence, the fixed one passes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from tests.gates.conftest import SETUP_SECRET
from tests.gates.helpers import (
    COUPON_ERROR,
    coupon_spec,
    flaky_spec,
    order_api_spec,
    order_ui_spec,
    seeded_order_spec,
)
from triagebot.demo.sampleapp import SampleApp
from triagebot.gates.runner import GateOptions, ProgressEvent, run_gate
from triagebot.settings import Settings

pytestmark = pytest.mark.browser


def _options(settings: Settings) -> GateOptions:
    return GateOptions.from_settings(settings, setup_secret=SETUP_SECRET)


def test_buggy_build_fails_with_evidence(buggy_app: SampleApp, settings: Settings) -> None:
    events: list[ProgressEvent] = []
    specs = [coupon_spec(), order_ui_spec(), order_api_spec(), seeded_order_spec()]

    gate = run_gate(
        specs,
        base_url=buggy_app.url,
        settings=settings,
        options=_options(settings),
        quarantine={"order-api"},
        progress=events.append,
    )

    results = {result.spec_id: result for result in gate.results}
    assert gate.verdict == "failed"
    assert {sid: r.status for sid, r in results.items()} == {
        "coupon": "failed",
        "order-ui": "failed",
        "order-api": "failed",
        "seeded-order": "passed",
    }
    assert [r.spec_id for r in gate.quarantined] == ["order-api"]
    assert not results["order-api"].gating

    coupon = results["coupon"]
    assert len(coupon.attempts) == 2  # a failure is retried once before it counts
    failure = coupon.failure
    assert failure is not None
    assert failure.step_index == 3 and failure.step == "click role=button[name=Apply coupon]"
    assert f"TypeError: {COUPON_ERROR}" in failure.evidence.page_errors
    assert failure.evidence.final_url == f"{buggy_app.url}/cart"
    screenshot, trace = Path(failure.evidence.screenshot or ""), Path(failure.evidence.trace or "")
    assert screenshot.read_bytes().startswith(b"\x89PNG")
    assert screenshot.parent == settings.data_dir / "evidence" / gate.run_id / "coupon"
    assert zipfile.is_zipfile(trace) and any(n.endswith(".trace") for n in zipfile.ZipFile(trace).namelist())

    order_ui = results["order-ui"].failure
    assert order_ui is not None
    # Either the 500 or its symptom ("Order failed") is reported first; the 500 is always in evidence.
    assert order_ui.message.endswith("/api/orders answered 500") or order_ui.step == "text_absent"
    assert [(r.method, r.status) for r in order_ui.evidence.failed_responses] == [("POST", 500)]
    assert order_ui.evidence.failed_responses[0].url == f"{buggy_app.url}/api/orders"

    # Data setup: one signed up and one down per attempt, the record gone afterwards.
    calls = buggy_app.state.setup_calls
    assert [call["action"] for call in calls] == ["up", "down"]
    assert calls[0]["run_id"] == calls[1]["run_id"] == f"{gate.run_id}-seeded-order-1"
    assert calls[0]["fixture"] == "order" and calls[0]["data"] == {"id": "ord-77", "total": 42}
    assert buggy_app.state.orders == {}

    kinds = [(event.kind, event.spec_id) for event in events]
    assert ("retrying", "coupon") in kinds and kinds.count(("finished", "coupon")) == 1
    assert sum(1 for kind, _ in kinds if kind == "finished") == 4


def test_fixed_build_passes_and_reports_flaky(fixed_app: SampleApp, settings: Settings) -> None:
    specs = [coupon_spec(), order_ui_spec(), order_api_spec(), seeded_order_spec(), flaky_spec()]

    gate = run_gate(specs, base_url=fixed_app.url, settings=settings, options=_options(settings))

    statuses = {result.spec_id: result.status for result in gate.results}
    assert statuses == {
        "coupon": "passed",
        "order-ui": "passed",
        "order-api": "passed",
        "seeded-order": "passed",
        "flaky": "flaky",
    }
    assert gate.verdict == "passed" and gate.count("flaky") == 1
    flaky = next(result for result in gate.results if result.spec_id == "flaky")
    assert [attempt.passed for attempt in flaky.attempts] == [False, True]
    first = flaky.attempts[0].failure
    assert first is not None and first.message == "GET /api/flaky?key=flaky answered 503"
    # Passing attempts leave no files behind; only the flaky spec's failed attempt kept evidence,
    # and a first attempt is not traced (its retry would be).
    kept = sorted(
        p.relative_to(settings.data_dir / "evidence" / gate.run_id)
        for p in Path(settings.data_dir).rglob("*.*")
    )
    assert kept == [Path("flaky/attempt-1-screenshot.png")]


def test_a_late_server_error_is_caught_in_every_spec(buggy_app: SampleApp, settings: Settings) -> None:
    """The order's 500 arrives after the last click returned; settling waits for it in every spec."""
    specs = [order_ui_spec(f"order-ui-{n}") for n in range(6)]
    options = GateOptions.from_settings(settings, concurrency=6, retries=0)

    gate = run_gate(specs, base_url=buggy_app.url, settings=settings, options=options)

    for result in gate.results:
        failure = result.failure
        assert result.status == "failed" and failure is not None, result.spec_id
        assert [(r.method, r.status) for r in failure.evidence.failed_responses] == [("POST", 500)]
