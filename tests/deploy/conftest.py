"""Fixtures for the deployment checks: the repository root and the app's real routes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from starlette.routing import Match

from triagebot.app import create_app
from triagebot.bootstrap import build_services
from triagebot.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def serves(app: FastAPI, method: str, path: str) -> bool:
    """Say whether one of the app's routes fully matches `method path` (as the router would pick it)."""
    scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


@pytest.fixture
def app_serves(
    sqlite_url: str, settings_for: Callable[..., Settings]
) -> Iterator[Callable[[str, str], bool]]:
    """Answer whether the real app serves a method and path (Slack configured, so /slack/events is live)."""
    services = build_services(
        settings_for(sqlite_url, slack_bot_token="xoxb-test", slack_signing_secret="signing")
    )
    app = create_app(services)
    yield lambda method, path: serves(app, method, path)
    services.engine.dispose()
