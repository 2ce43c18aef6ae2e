"""Shared helpers for the draft tests: the real Sentry payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures" / "sentry"
LOCAL_FIXTURES = REPO / "tests" / "fixtures" / "sentry"


def fixture_path(name: str) -> Path:
    """Find a Sentry fixture: our own captures first, then the shared ones."""
    for folder in (LOCAL_FIXTURES, SHARED_FIXTURES):
        if (folder / name).exists():
            return folder / name
    pytest.skip(f"fixture {name} is not available")


def load_fixture(name: str) -> Any:
    """Load one Sentry fixture as parsed JSON."""
    return json.loads(fixture_path(name).read_text(encoding="utf-8"))
