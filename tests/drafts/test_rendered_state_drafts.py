"""Drafts of bugs that need state run as rendered under `npx playwright test`: red on buggy, green on fixed.

The events in tests/fixtures/sentry/state/ (a signed-in page, a flag, an Enter-only search, a
`<select>`) are drafted with the repository config that says how to sign in and set flags, rendered
to TypeScript and run unedited against the sample app, with the sign-in values in the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from triagebot.demo.sampleapp import serve_sample_app
from triagebot.drafts.config import parse_preview_config
from triagebot.drafts.derive import derive_spec
from triagebot.drafts.render import render_test
from triagebot.integrations.chromium import find_chromium
from triagebot.integrations.sentry.event import normalize_event

from .helpers import load_fixture
from .test_generated_lint import assert_typescript_clean, node_workspace, run_node

CHROMIUM = find_chromium(None)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (make chromium)"),
]

USER, PASSWORD = "e2e@example.com", "correct horse battery staple"
CONFIG = """
preview:
  login:
    url: /login
    fields: {"#email": E2E_USER, "#password": E2E_PASSWORD}
    submit: "button[type=submit]"
    success_url: /account
  flags: {cookie: "flag_{name}"}
"""
CASES = ["account.signed_in.json", "basket.flag.json", "search.enter.json", "shipping.select.json"]


@pytest.fixture
def workspace() -> Iterator[Path]:
    yield from node_workspace()


def test_state_drafts_fail_on_the_buggy_build_and_pass_on_the_fixed_one(workspace: Path) -> None:
    preview = parse_preview_config(CONFIG)
    for case in CASES:
        spec = derive_spec(normalize_event(load_fixture(f"state/{case}")), preview=preview)
        path, text = render_test(spec, "ts", preview=preview)
        assert USER not in text and PASSWORD not in text
        (workspace / "tests" / Path(path).name).write_text(text, encoding="utf-8")
    assert_typescript_clean(workspace)

    env = {"E2E_USER": USER, "E2E_PASSWORD": PASSWORD, "CHROMIUM_PATH": CHROMIUM or "", "CI": "1"}
    for build, expected in (("buggy", f"{len(CASES)} failed"), ("fixed", f"{len(CASES)} passed")):
        with serve_sample_app(build, login=(USER, PASSWORD)) as app:
            result = run_node(workspace, "playwright", "test", env={**env, "BASE_URL": app.url})
        output = result.stdout + result.stderr
        assert expected in output, output
        assert result.returncode == (1 if build == "buggy" else 0), output
