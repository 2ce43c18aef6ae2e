"""Regression test drafted by triagebot from a Sentry issue.

Its spec is the source of truth; this file is for people and their own CI:
.triagebot/tests/sentry-event-5c0a7e1d2b9f4f7e8a1b2c3d4e5f6a7b.yml
It runs with pytest-playwright against the app under test: `--base-url URL`, or
`base_url = URL` in the pytest configuration ([pytest] or [tool.pytest.ini_options]).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error, Page, Response, expect

# The uncaught error Sentry saw: same name, and a message containing Sentry's
# (when it is known).
SENTRY_ERROR_TYPE: str | None = "TypeError"
SENTRY_ERROR_MESSAGE: str | None = (
    "Cannot read properties of null (reading 'textContent')"
)


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


# Runs in the page before its own scripts: counts the work it has outstanding
# (fetches and their body reads, XHRs, timers of up to ten seconds), each done only
# in a task after its callbacks ran, so the test judges after the handler that
# throws has had its turn.
TRACK_PAGE_WORK = """
(() => {
  const realSetTimeout = window.setTimeout.bind(window);
  const realClearTimeout = window.clearTimeout.bind(window);
  let pending = 0;
  let inTimer = false;
  const begin = () => { pending += 1; window.pendingPageWork = pending; };
  const end = () => realSetTimeout(() => {
    pending -= 1;
    window.pendingPageWork = pending;
  }, 0);
  const tracked = (work) => {
    begin();
    return work.then((v) => { end(); return v; }, (e) => { end(); throw e; });
  };
  window.pendingPageWork = 0;
  const realFetch = window.fetch.bind(window);
  window.fetch = (input, init) => tracked(realFetch(input, init));
  for (const name of ["json", "text", "arrayBuffer", "blob", "formData"]) {
    const read = Response.prototype[name];
    Response.prototype[name] = function () { return tracked(read.call(this)); };
  }
  const realSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    begin();
    this.addEventListener("loadend", end, { once: true });
    realSend.call(this, body);
  };
  const timers = new Set();
  window.setTimeout = (handler, timeout, ...rest) => {
    if (inTimer || typeof handler !== "function" || (timeout || 0) > 10000) {
      return realSetTimeout(handler, timeout, ...rest);
    }
    begin();
    const id = realSetTimeout(() => {
      timers.delete(id);
      inTimer = true;
      try { handler(...rest); } finally { inTimer = false; end(); }
    }, timeout);
    timers.add(id);
    return id;
  };
  window.clearTimeout = (id) => {
    if (timers.delete(id)) end();
    realClearTimeout(id);
  };
})();
"""
PAGE_WORK_DONE = "() => (window.pendingPageWork ?? 0) === 0"


@dataclass
class Seen:
    """What the page did: uncaught errors and 5xx answers from the app."""

    page_errors: list[Error] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)


def _observe(page: Page, base_url: str) -> Seen:
    """Record the page's errors and 5xx answers; count its work (TRACK_PAGE_WORK)."""
    origin = urlsplit(base_url)[:2]
    seen = Seen()
    page.on("pageerror", lambda error: seen.page_errors.append(error))

    def on_response(response: Response) -> None:
        if response.status >= 500 and urlsplit(response.url)[:2] == origin:
            method = response.request.method
            seen.server_errors.append(f"{response.status} {method} {response.url}")

    page.on("response", on_response)
    page.add_init_script(TRACK_PAGE_WORK)
    return seen


def test_regression_sentry_event_5c0a7e1d2b9f4f7e8a1b2c3d4e5f6a7b(
    page: Page,
    base_url: str | None,
    record_property: Callable[[str, object], None],
) -> None:
    """Replay the user's steps; the Sentry error must not come back."""
    record_property("sentry issue", "event-5c0a7e1d2b9f4f7e8a1b2c3d4e5f6a7b")
    record_property("sentry release", "shop@1.4.2")
    base = _required(base_url)
    seen = _observe(page, base)
    page.goto("/")
    # The page is used once its own work is done: its handlers are wired up.
    page.wait_for_function(PAGE_WORK_DONE, timeout=20_000)
    page.get_by_test_id("open-cart").click()
    expect(page).to_have_url("/cart")
    # The page is used once its own work is done: its handlers are wired up.
    page.wait_for_function(PAGE_WORK_DONE, timeout=20_000)
    page.get_by_role("textbox", name="Coupon code").fill("test")
    page.get_by_role("button", name="Apply coupon").click()

    # Judge once the page's work for the last step (its calls, their handlers, its
    # timers) is done, on the page the user was on.
    page.wait_for_function(PAGE_WORK_DONE, timeout=20_000)
    expect(page).to_have_url(re.compile("^[a-z][a-z0-9+.-]*://[^/?#]+/cart(?:[?#]|$)"))
    thrown = [f"{e.name}: {e.message}" for e in seen.page_errors if _is_sentry_error(e)]
    assert thrown == [], "the Sentry exception must not be thrown again"
    assert seen.server_errors == [], "the app must not answer with a 5xx"
    expect(
        page.locator("body"),
    ).not_to_contain_text(
        "Cannot read properties of null (reading 'textContent')",
    )
