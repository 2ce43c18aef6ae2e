"""Regression test drafted by triagebot from a Sentry issue.

The spec in .triagebot/tests/sentry-64.yml
is the source of truth; this file is for people and their own CI. Run it with
pytest-playwright against the app under test: --base-url URL or BASE_URL.
"""

from __future__ import annotations

import os
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Playwright

SENTRY = {
    "issue_id": "64",
    "short_id": None,
    "link": None,
    "culprit": "/divide-zero/",
    "release": None,
}


def _base(base_url: str | None) -> str:
    base = base_url or os.environ.get("BASE_URL")
    if not base:
        pytest.fail("Set --base-url or BASE_URL to the app under test.")
    return base


def test_regression_sentry_64(playwright: Playwright, base_url: str | None) -> None:
    """Replay the failing request; the app must not answer with a 5xx."""
    base = _base(base_url)
    api = playwright.request.new_context()
    try:
        response = api.fetch(
            urljoin(base, "/divide-zero/?foo=bar&foo=bars&lol=ha"),
            method="GET",
            headers={},
            max_redirects=0,
        )
        assert response.status < 500, f"the replayed request failed with {response.status}"
        assert "division by zero" not in response.text()
    finally:
        api.dispose()
