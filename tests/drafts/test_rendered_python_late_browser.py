"""The rendered pytest judges after the page's own work: errors thrown late are seen, fixed pages pass.

Each page of the late app throws only after its click's work has gone through the network and the
event loop (a slow answer, an XHR's onload, a 1.5 s timer, a rejection, a 500). The unedited
rendered test must fail on every buggy page with the Sentry error and pass on every fixed one.
"""

from __future__ import annotations

import re

import pytest

from bench.gate import late_event
from tests.gates.late_app import ERRORS, serve_late_app
from triagebot.drafts.derive import derive_spec
from triagebot.integrations.chromium import LAUNCH_ARGS
from triagebot.integrations.sentry.event import normalize_event

from .test_reproduce_browser import CHROMIUM, _load_rendered

pytestmark = [pytest.mark.browser, pytest.mark.skipif(CHROMIUM is None, reason="no Chromium (make chromium)")]


@pytest.mark.parametrize("build", ["buggy", "fixed"])
def test_late_errors_fail_the_rendered_pytest_on_buggy_pages_only(build: str, tmp_path: object) -> None:
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    tests = []
    for number, kind in enumerate(ERRORS, 1):
        spec = derive_spec(normalize_event(late_event(kind, number)))
        name = "test_regression_" + re.sub(r"[^a-z0-9_]", "_", spec.id)
        tests.append((kind, _load_rendered(spec, Path(str(tmp_path)) / kind, name)))
    caught: dict[str, bool] = {}
    with sync_playwright() as pw, serve_late_app(build) as app:  # type: ignore[arg-type]
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True, chromium_sandbox=False
        )
        try:
            for kind, rendered in tests:
                page = browser.new_page(base_url=app.url)
                try:
                    rendered(page=page, base_url=app.url, record_property=lambda *_: None)
                    caught[kind] = False
                except AssertionError as exc:
                    assert "Sentry exception must not be thrown again" in str(exc), (kind, str(exc)[:300])
                    caught[kind] = True
                page.close()
        finally:
            browser.close()
    assert caught == dict.fromkeys(ERRORS, build == "buggy")
