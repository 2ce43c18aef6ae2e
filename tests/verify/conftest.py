"""Verification test fixtures: settings allowing only 127.0.0.1, the sample app's two builds, its event."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from triagebot.demo.sampleapp import SampleApp, serve_sample_app
from triagebot.drafts.derive import derive_spec
from triagebot.integrations.chromium import find_chromium
from triagebot.integrations.sentry.event import SentryEvent, normalize_event
from triagebot.settings import Settings
from triagebot.spec import Spec

SAMPLE_EVENT = Path(__file__).resolve().parents[2] / "triagebot" / "demo" / "sampleapp" / "sentry_event.json"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip browser tests, with the reason, where no Chromium is installed."""
    if find_chromium(None) is not None:
        return
    skip = pytest.mark.skip(reason="no Chromium installed (make chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings that allow only 127.0.0.1, keep evidence under tmp_path and give alternatives 30 s."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        preview_hosts=["127.0.0.1"],
        data_dir=tmp_path / "data",
        gate_step_timeout_ms=3_000,
        gate_spec_timeout_ms=30_000,
        verify_budget_seconds=30,
    )


@pytest.fixture
def buggy_app() -> Iterator[SampleApp]:
    with serve_sample_app("buggy") as app:
        yield app


@pytest.fixture
def fixed_app() -> Iterator[SampleApp]:
    with serve_sample_app("fixed") as app:
        yield app


def sample_payload() -> Any:
    """The sample app's Sentry event (the coupon TypeError)."""
    return json.loads(SAMPLE_EVENT.read_text(encoding="utf-8"))


@pytest.fixture
def event() -> SentryEvent:
    return normalize_event(sample_payload())


@pytest.fixture
def spec(event: SentryEvent) -> Spec:
    return derive_spec(event, issue={"id": "4501", "shortId": "SHOP-7"})
