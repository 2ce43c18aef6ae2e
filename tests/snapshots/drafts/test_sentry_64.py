"""Regression test drafted by triagebot from a Sentry issue.

Its spec is the source of truth; this file is for people and their own CI:
.triagebot/tests/sentry-64.yml
It runs with pytest-playwright against the app under test: `--base-url URL`, or
`base_url = URL` in the pytest configuration ([pytest] or [tool.pytest.ini_options]).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import APIRequestContext, Playwright


def _required(base_url: str | None) -> str:
    if not base_url:
        pytest.fail("Set --base-url (or base_url in pytest's configuration).")
    return base_url


@pytest.fixture
def api(playwright: Playwright, base_url: str | None) -> Iterator[APIRequestContext]:
    """An HTTP client on the app under test, as in Playwright's API-testing guide."""
    context = playwright.request.new_context(base_url=_required(base_url))
    yield context
    context.dispose()


def test_regression_sentry_64(
    api: APIRequestContext,
    record_property: Callable[[str, object], None],
) -> None:
    """Replay the failing request; the app must not answer with a 5xx."""
    record_property("sentry issue", "64")
    response = api.fetch(
        "/divide-zero/?foo=bar&foo=bars&lol=ha",
        method="GET",
        max_redirects=0,
    )
    assert response.status < 500, f"the replayed request failed with {response.status}"
    assert "division by zero" not in response.text()
