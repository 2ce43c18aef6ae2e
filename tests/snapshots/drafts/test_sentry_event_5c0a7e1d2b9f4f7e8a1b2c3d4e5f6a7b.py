"""Regression test drafted by triagebot from a Sentry issue.

The spec in .triagebot/tests/sentry-event-5c0a7e1d2b9f4f7e8a1b2c3d4e5f6a7b.yml
is the source of truth; this file is for people and their own CI. Run it with
pytest-playwright against the app under test: --base-url URL or BASE_URL.
"""

from __future__ import annotations

import contextlib
import os
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Error, Page, Response, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

SENTRY = {
    "issue_id": "event-5c0a7e1d2b9f4f7e8a1b2c3d4e5f6a7b",
    "short_id": None,
    "link": None,
    "culprit": None,
    "release": "shop@1.4.2",
}
# The uncaught error Sentry saw: same name, and a message containing Sentry's (when it is known).
SENTRY_ERROR_TYPE = "TypeError"
SENTRY_ERROR_MESSAGE = "Cannot read properties of null (reading 'textContent')"


def _base(base_url: str | None) -> str:
    base = base_url or os.environ.get("BASE_URL")
    if not base:
        pytest.fail("Set --base-url or BASE_URL to the app under test.")
    return base


def _matches_sentry_error(error: Error) -> bool:
    if SENTRY_ERROR_TYPE is not None and error.name != SENTRY_ERROR_TYPE:
        return False
    if SENTRY_ERROR_MESSAGE is None:
        return True
    expected, actual = " ".join(SENTRY_ERROR_MESSAGE.split()), " ".join(error.message.split())
    return expected in actual or (len(actual) >= 8 and actual in expected)


def test_regression_sentry_event_5c0a7e1d2b9f4f7e8a1b2c3d4e5f6a7b(page: Page, base_url: str | None) -> None:
    """Replay the user's steps; the Sentry error must not come back."""
    base = _base(base_url)
    origin = urlsplit(base)[:2]
    page_errors: list[Error] = []
    server_errors: list[str] = []
    page.on("pageerror", lambda error: page_errors.append(error))

    def on_response(response: Response) -> None:
        if response.status >= 500 and urlsplit(response.url)[:2] == origin:
            server_errors.append(f"{response.status} {response.request.method} {response.url}")

    page.on("response", on_response)

    page.goto(urljoin(base, "/"))
    page.get_by_test_id("open-cart").first.click()
    expect(page).to_have_url(urljoin(base, "/cart"))
    page.get_by_role("textbox", name="Coupon code").first.fill("test")
    page.get_by_role("button", name="Apply coupon").first.click()

    # Let late requests and rendering finish before judging; a busy page simply moves on.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_load_state("networkidle", timeout=5_000)

    sentry_like = [f"{e.name}: {e.message}" for e in page_errors if _matches_sentry_error(e)]
    assert sentry_like == [], "the Sentry exception must not be thrown again"
    assert server_errors == [], "the app must not answer with a 5xx"
    expect(page.locator("body")).not_to_contain_text("Cannot read properties of null (reading 'textContent')")
