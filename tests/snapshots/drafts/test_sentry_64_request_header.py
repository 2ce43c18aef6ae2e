"""Regression test drafted by triagebot from a Sentry issue.

Its spec is the source of truth; this file is for people and their own CI:
.triagebot/tests/sentry-64.yml
It runs with pytest-playwright against the app under test: `--base-url URL`, or
`base_url = URL` in the pytest configuration ([pytest] or [tool.pytest.ini_options]).
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from playwright.sync_api import Page


def _required(base_url: str | None) -> str:
    if not base_url:
        pytest.fail("Set --base-url (or base_url in pytest's configuration).")
    return base_url


def _env(name: str) -> str:
    """Return a value from the environment, named in .triagebot/config.yml."""
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"Set {name} in the environment: .triagebot/config.yml reads it.")
    return value


def _preview_headers() -> dict[str, str]:
    """Return the preview's own headers (preview.headers in .triagebot/config.yml)."""
    return {
        "x-bypass": _env("BYPASS"),
    }


def _sign_in(page: Page) -> None:
    """Sign in as .triagebot/config.yml says (preview.login)."""
    response = page.request.fetch(
        "/api/login",
        method="POST",
        headers=_preview_headers(),
        data={
            "email": _env("E2E_USER"),
            "password": _env("E2E_PASSWORD"),
        },
    )
    assert response.status < 400, f"signing in failed with {response.status}"


def test_regression_sentry_64(
    page: Page,
    record_property: Callable[[str, object], None],
) -> None:
    """Replay the failing request; the app must not answer with a 5xx."""
    record_property("sentry issue", "64")
    _sign_in(page)
    response = page.request.fetch(
        "/divide-zero/?foo=bar&foo=bars&lol=ha",
        method="GET",
        headers={
            **_preview_headers(),
        },
        max_redirects=0,
    )
    assert response.status < 500, f"the replayed request failed with {response.status}"
    assert "division by zero" not in response.text()
