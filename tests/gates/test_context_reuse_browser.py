"""A context is reused only once cleared: nothing one spec stored reaches the next."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from tests.gates.helpers import make_spec
from tests.gates.late_app import serve_late_app
from triagebot.gates.runner import GateOptions, run_gate
from triagebot.integrations.browser import PlaywrightBrowser, PlaywrightLauncher
from triagebot.settings import Settings

pytestmark = pytest.mark.browser


class CountingLauncher(PlaywrightLauncher):
    """The real launcher, keeping the browser it launched to read how many contexts it opened."""

    browsers: list[PlaywrightBrowser]

    @asynccontextmanager
    async def launch(self, *, origin: str) -> AsyncIterator[PlaywrightBrowser]:
        async with super().launch(origin=origin) as browser:
            self.browsers.append(browser)
            yield browser


def test_specs_sharing_a_context_see_none_of_each_others_state(settings: Settings, tmp_path: Path) -> None:
    specs = [
        make_spec(
            f"state-{n}",
            start="/state",
            assertions={"page_error": {"type": "Error", "message": "leftover state"}},
        )
        for n in range(4)
    ]
    launcher = CountingLauncher()
    launcher.browsers = []
    options = GateOptions.from_settings(settings, concurrency=1, retries=0)

    with serve_late_app("fixed") as app:
        gate = run_gate(specs, base_url=app.url, settings=settings, options=options, launcher=launcher)

    assert [(r.spec_id, r.status) for r in gate.results] == [(spec.id, "passed") for spec in specs]
    assert launcher.browsers[0].contexts_opened == 1  # one context served all four, cleared between
