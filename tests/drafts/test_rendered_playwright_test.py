"""Rendered TypeScript runs unedited under `npx playwright test`: red on Tiny Shop's bug, green on the fix.

The draft comes from the sample app's own Sentry event (a stateless one: no sign-in, no flags), the
config is the one a team has plus `baseURL`, and Chromium is the system's, as everywhere here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from triagebot.demo.sampleapp import serve_sample_app
from triagebot.drafts.derive import derive_spec
from triagebot.drafts.render import render_test
from triagebot.integrations.chromium import find_chromium
from triagebot.integrations.sentry.event import normalize_event

from .test_generated_lint import node_workspace, run_node

CHROMIUM = find_chromium(None)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (make chromium)"),
]


@pytest.fixture
def workspace() -> Iterator[Path]:
    yield from node_workspace()


def _playwright_test(root: Path, base_url: str) -> tuple[int, str]:
    env = {"BASE_URL": base_url, "CHROMIUM_PATH": CHROMIUM or "", "CI": "1"}
    result = run_node(root, "playwright", "test", "--output", str(root / "results"), env=env)
    return result.returncode, result.stdout + result.stderr


def test_stateless_draft_fails_on_the_buggy_build_and_passes_on_the_fixed_one(workspace: Path) -> None:
    event = json.loads(resources.files("triagebot.demo.sampleapp").joinpath("sentry_event.json").read_text())
    spec = derive_spec(normalize_event(event), issue={"id": "4711", "shortId": "TINYSHOP-7"})
    path, text = render_test(spec, "ts")
    (workspace / "tests" / Path(path).name).write_text(text, encoding="utf-8")

    with serve_sample_app("buggy") as app:
        code, output = _playwright_test(workspace, app.url)
    assert code == 1, output
    assert "1 failed" in output and "the Sentry exception must not be thrown again" in output
    assert "TypeError: Cannot read properties of undefined (reading 'discount')" in output

    with serve_sample_app("fixed") as app:
        code, output = _playwright_test(workspace, app.url)
    assert code == 0, output
    assert "1 passed" in output
