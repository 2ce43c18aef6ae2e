"""Regression test drafted by triagebot from a Sentry issue.

Its spec is the source of truth; this file is for people and their own CI:
.triagebot/tests/front-end-9.yml
It runs with pytest-playwright against the app under test: `--base-url URL`, or
`base_url = URL` in the pytest configuration ([pytest] or [tool.pytest.ini_options]).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error, Page, Request, Response, expect

# The uncaught error Sentry saw: same name, and a message containing Sentry's
# (when it is known).
SENTRY_ERROR_TYPE: str | None = "ReferenceError"
SENTRY_ERROR_MESSAGE: str | None = "blooopy is not defined"


def _is_sentry_error(error: Error) -> bool:
    if SENTRY_ERROR_TYPE is not None and error.name != SENTRY_ERROR_TYPE:
        return False
    if SENTRY_ERROR_MESSAGE is None:
        return True
    expected = " ".join(SENTRY_ERROR_MESSAGE.split())
    actual = " ".join(error.message.split())
    return expected in actual or (len(actual) >= 8 and actual in expected)


def _required(base_url: str | None) -> str:
    if not base_url:
        pytest.fail("Set --base-url (or base_url in pytest's configuration).")
    return base_url


@dataclass
class Seen:
    """What the page did: uncaught errors, 5xx answers, its calls to the app."""

    page_errors: list[Error] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    app_calls: list[Request] = field(default_factory=list)

    def answered(self, page: Page) -> None:
        """Wait until the page's calls to the app are answered and handled."""
        index = 0
        while index < len(self.app_calls):
            self.app_calls[index].response()
            index += 1
        # Two animation frames later, the page's own handlers for the answers have run.
        frame = "requestAnimationFrame"
        page.evaluate(f"() => new Promise(r => {frame}(() => {frame}(r)))")


def _observe(page: Page, base_url: str) -> Seen:
    """Record the page's errors, 5xx answers and calls to the app under test."""
    origin = urlsplit(base_url)[:2]
    seen = Seen()
    page.on("pageerror", lambda error: seen.page_errors.append(error))

    def on_request(request: Request) -> None:
        call = request.resource_type in ("fetch", "xhr")
        if call and urlsplit(request.url)[:2] == origin:
            seen.app_calls.append(request)

    def on_response(response: Response) -> None:
        if response.status >= 500 and urlsplit(response.url)[:2] == origin:
            method = response.request.method
            seen.server_errors.append(f"{response.status} {method} {response.url}")

    page.on("request", on_request)
    page.on("response", on_response)
    return seen


def test_regression_front_end_9(
    page: Page,
    base_url: str | None,
    record_property: Callable[[str, object], None],
) -> None:
    """Replay the user's steps; the Sentry error must not come back."""
    record_property(
        "issue",
        "https://sentry.io/organizations/test-org/issues/1170820242/",
    )
    base = _required(base_url)
    seen = _observe(page, base)
    page.goto("/runner")

    # Judge once the page's calls to the app have answered, on the page the user was on.
    seen.answered(page)
    expect(
        page,
    ).to_have_url(
        re.compile("^[a-z][a-z0-9+.-]*://[^/?#]+/runner(?:[?#]|$)"),
    )
    thrown = [f"{e.name}: {e.message}" for e in seen.page_errors if _is_sentry_error(e)]
    assert thrown == [], "the Sentry exception must not be thrown again"
    assert seen.server_errors == [], "the app must not answer with a 5xx"
    expect(page.locator("body")).not_to_contain_text("blooopy is not defined")
