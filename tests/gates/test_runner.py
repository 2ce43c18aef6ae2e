"""Runner logic against an in-memory browser: retries, flakiness, quarantine, timeouts, setup signing."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.gates.helpers import make_spec
from triagebot.demo.sampleapp import verify_setup_request
from triagebot.errors import RefusedHost
from triagebot.gates.runner import GateOptions, auto_concurrency, page_error_matches, run_gate
from triagebot.integrations.ports import (
    BrowserActionError,
    FetchResult,
    Observations,
    PageErrorSeen,
    PageState,
)
from triagebot.settings import Settings
from triagebot.spec import Locator

Script = Callable[["FakePage", str, object], None]


class FakePage:
    """Records every action; `script` may raise or add observations to simulate the app."""

    def __init__(self, browser: FakeBrowser) -> None:
        self.browser = browser
        self.observations = Observations()
        self.url = "about:blank"

    async def _do(self, action: str, arg: object) -> None:
        self.browser.log.append((action, arg))
        await asyncio.sleep(self.browser.delay)
        self.browser.script(self, action, arg)

    async def goto(self, url: str) -> None:
        self.url = url
        await self._do("goto", url)

    async def click(self, locator: Locator) -> None:
        await self._do("click", locator.value)

    async def fill(self, locator: Locator, value: str) -> None:
        await self._do("fill", value)

    async def press(self, locator: Locator, key: str) -> None:
        await self._do("press", key)

    async def select_option(self, locator: Locator, value: str | None) -> str:
        await self._do("select", value)
        return value or "first"

    async def check(self, locator: Locator, checked: bool) -> None:
        await self._do("check", checked)

    async def storage_state(self) -> dict[str, Any]:
        return {"cookies": [{"name": "session", "value": "s1"}], "origins": []}

    async def wait_for_url(self, matches: Callable[[str], bool]) -> None:
        if not matches(self.url):
            raise BrowserActionError("Timeout 5000ms exceeded waiting for the URL")

    async def fetch(self, method: str, url: str, headers: dict[str, str], body: str | None) -> FetchResult:
        self.browser.fetches.append((method, url, headers, body))
        return FetchResult(status=self.browser.fetch_status(url), text="")

    async def settle(self, *, quiet_ms: int, timeout_ms: int) -> None:
        self.browser.settles.append((quiet_ms, timeout_ms))

    async def body_text(self) -> str:
        return self.browser.body

    async def current_url(self) -> str:
        return self.url

    async def save_evidence(self, screenshot: Path, trace: Path) -> tuple[Path | None, Path | None]:
        screenshot.write_bytes(b"\x89PNG fake")
        trace.write_bytes(b"PK fake")
        return screenshot, trace


class FakeBrowser:
    """An in-memory browser: one FakePage per attempt, counting how many are open at once."""

    def __init__(self, script: Script | None = None, delay: float = 0) -> None:
        self.script: Script = script or (lambda page, action, arg: None)
        self.delay = delay
        self.log: list[tuple[str, object]] = []
        self.fetches: list[tuple[str, str, dict[str, str], str | None]] = []
        self.fetch_status: Callable[[str], int] = lambda url: 200
        self.body = ""
        self.open = self.peak = self.pages = 0
        self.launched_for: list[str] = []
        self.settles: list[tuple[int, int]] = []
        self.traced: list[bool] = []
        self.unreachable: str | None = None
        self.states: list[PageState | None] = []

    @asynccontextmanager
    async def launch(self, *, origin: str) -> AsyncIterator[FakeBrowser]:
        self.launched_for.append(origin)
        yield self

    async def probe(self, origin: str, timeout_ms: int) -> str | None:
        return self.unreachable

    @asynccontextmanager
    async def page(
        self, *, origin: str, step_timeout_ms: int, trace: bool, state: PageState | None = None
    ) -> AsyncIterator[FakePage]:
        self.traced.append(trace)
        self.states.append(state)
        self.open += 1
        self.pages += 1
        self.peak = max(self.peak, self.open)
        try:
            yield FakePage(self)
        finally:
            self.open -= 1


BASE = "http://127.0.0.1:8000"


def options(settings: Settings, **overrides: object) -> GateOptions:
    return GateOptions.from_settings(settings, **overrides)


def test_refuses_a_host_before_starting_a_browser(settings: Settings) -> None:
    browser = FakeBrowser()
    with pytest.raises(RefusedHost):
        run_gate([make_spec("a")], base_url="https://evil.example", settings=settings, launcher=browser)
    assert browser.launched_for == []


def test_runs_specs_concurrently_up_to_the_limit(settings: Settings) -> None:
    browser = FakeBrowser(delay=0.01)
    specs = [make_spec(f"s{i}") for i in range(6)]

    gate = run_gate(
        specs, base_url=BASE, settings=settings, options=options(settings, concurrency=3), launcher=browser
    )

    assert gate.verdict == "passed" and browser.launched_for == [BASE]
    assert browser.peak == 3 and browser.pages == 6
    assert [r.spec_id for r in gate.results] == [f"s{i}" for i in range(6)]


def test_unset_concurrency_is_what_the_cores_and_memory_carry(settings: Settings) -> None:
    browser = FakeBrowser(delay=0.01)
    specs = [make_spec(f"s{i}") for i in range(40)]

    gate = run_gate(specs, base_url=BASE, settings=settings, options=GateOptions(), launcher=browser)

    assert gate.verdict == "passed" and browser.pages == 40
    assert browser.peak == auto_concurrency(40) < 40
    plenty = 64_000
    assert [auto_concurrency(n, cpus=1, available_mb=plenty) for n in (0, 1, 3, 20)] == [1, 1, 3, 4]
    assert auto_concurrency(20, cpus=2, available_mb=plenty) == 8
    assert auto_concurrency(100, cpus=64, available_mb=plenty) == 32
    # Memory bounds it too: half of what is free, a renderer per context.
    assert auto_concurrency(20, cpus=8, available_mb=1_000) == 4
    assert auto_concurrency(20, cpus=8, available_mb=100) == 1


def test_settle_may_use_the_spec_timeout_and_traces_only_retries(settings: Settings) -> None:
    browser = FakeBrowser()
    browser.body = "Unknown coupon"
    spec = make_spec(
        "s", steps=[{"action": "goto", "path": "/x"}], assertions={"text_absent": ["Unknown coupon"]}
    )
    opts = options(settings, spec_timeout_ms=30_000, step_timeout_ms=5_000, retries=1)

    gate = run_gate([spec], base_url=BASE, settings=settings, options=opts, launcher=browser)

    assert gate.results[0].status == "failed" and browser.traced == [False, True]
    # Not a fixed second: up to what the spec's own timeout leaves, less a step to check the page.
    assert [quiet for quiet, _ in browser.settles] == [250, 250]
    assert all(20_000 < budget <= 25_000 for _, budget in browser.settles)


def test_fails_then_passes_is_flaky_and_does_not_gate(settings: Settings) -> None:
    attempts: list[int] = []

    def first_click_throws(page: FakePage, action: str, arg: object) -> None:
        if action == "click":
            attempts.append(1)
            if len(attempts) == 1:
                page.observations.page_errors.append(PageErrorSeen("TypeError", "x is undefined", step=0))

    spec = make_spec(
        "f",
        steps=[{"action": "click", "locator": {"strategy": "testid", "value": "go"}}],
        assertions={"page_error": {"type": "TypeError", "message": "x is undefined"}},
    )
    gate = run_gate([spec], base_url=BASE, settings=settings, launcher=FakeBrowser(first_click_throws))

    (result,) = gate.results
    assert result.status == "flaky" and gate.verdict == "passed" and gate.count("flaky") == 1
    assert result.failure is not None and result.failure.step == "click testid=go"


def test_quarantined_failure_is_reported_but_does_not_gate(settings: Settings) -> None:
    browser = FakeBrowser()
    browser.fetch_status = lambda url: 500
    spec = make_spec("q", kind="http", steps=[{"action": "request", "path": "/api"}])

    gate = run_gate([spec], base_url=BASE, settings=settings, quarantine={"q"}, launcher=browser)

    (result,) = gate.results
    assert result.status == "failed" and result.quarantined and not result.gating
    assert gate.verdict == "passed" and len(result.attempts) == 2


def test_unrelated_page_errors_do_not_fail_but_are_kept(settings: Settings) -> None:
    def noisy(page: FakePage, action: str, arg: object) -> None:
        page.observations.page_errors.append(PageErrorSeen("Error", "analytics blocked", step=None))

    spec = make_spec("n", assertions={"page_error": {"type": "TypeError"}, "text_absent": ["Oops"]})
    browser = FakeBrowser(noisy)
    browser.body = "All good"
    assert run_gate([spec], base_url=BASE, settings=settings, launcher=browser).verdict == "passed"

    browser.body = "Oops, something broke"
    gate = run_gate([spec], base_url=BASE, settings=settings, launcher=browser)
    failure = gate.results[0].failure
    assert failure is not None and failure.message == "the page shows 'Oops'"
    assert failure.evidence.page_errors == ["Error: analytics blocked"]


def test_spec_timeout_names_the_running_step(settings: Settings) -> None:
    spec = make_spec("slow", steps=[{"action": "click", "locator": {"strategy": "text", "value": "Go"}}])
    browser = FakeBrowser(delay=5)

    gate = run_gate(
        [spec],
        base_url=BASE,
        settings=settings,
        options=options(settings, spec_timeout_ms=50, retries=0),
        launcher=browser,
    )

    failure = gate.results[0].failure
    assert failure is not None and failure.message == "spec timed out after 50 ms"
    assert (failure.step_index, failure.step) == (-1, "goto /")


def test_data_setup_is_signed_and_torn_down(settings: Settings) -> None:
    spec = make_spec("d", setup={"fixture": "order", "data": {"id": "o1"}})
    browser = FakeBrowser()

    gate = run_gate(
        [spec],
        base_url=BASE,
        settings=settings,
        options=options(settings, setup_secret="k"),
        launcher=browser,
    )

    assert gate.verdict == "passed"
    assert [(m, u) for m, u, _, _ in browser.fetches] == [("POST", f"{BASE}/__triagebot/setup")] * 2
    bodies = []
    for _, _, headers, body in browser.fetches:
        assert body is not None
        expected = "sha256=" + hmac.new(b"k", body.encode(), hashlib.sha256).hexdigest()
        assert headers["X-Triagebot-Signature"] == expected
        assert verify_setup_request(b"k", body.encode(), expected, headers["X-Triagebot-Timestamp"]) is None
        assert verify_setup_request(b"other", body.encode(), expected, headers["X-Triagebot-Timestamp"]) == (
            "bad signature"
        )
        bodies.append(json.loads(body))
    assert [b["action"] for b in bodies] == ["up", "down"]
    assert bodies[0]["run_id"] == f"{gate.run_id}-d-1" and bodies[0]["data"] == {"id": "o1"}
    assert browser.log[0] == ("goto", f"{BASE}/")  # setup ran before the first navigation


def test_data_setup_without_a_secret_is_an_error(settings: Settings) -> None:
    spec = make_spec("d", setup={"fixture": "order"})
    browser = FakeBrowser()

    gate = run_gate([spec], base_url=BASE, settings=settings, launcher=browser)

    (result,) = gate.results
    assert result.status == "error" and gate.verdict == "error" and len(result.attempts) == 1
    assert result.failure is not None and "TRIAGEBOT_GATE_SETUP_SECRET" in result.failure.message
    assert browser.fetches == [] and browser.log == []


@pytest.mark.parametrize(
    ("wanted", "name", "message", "matches"),
    [
        (
            {"type": "TypeError", "message": "reading 'discount'"},
            "TypeError",
            "Cannot ... (reading 'discount')",
            True,
        ),
        ({"type": "TypeError"}, "RangeError", "reading 'discount'", False),
        ({"message": "Uncaught TypeError: boom happened"}, "TypeError", "boom happened", True),
        ({"message": "boom"}, "Error", "something else", False),
    ],
)
def test_page_error_matching(wanted: dict[str, str], name: str, message: str, matches: bool) -> None:
    from triagebot.spec import PageError

    assert page_error_matches(PageError(**wanted), PageErrorSeen(name, message, None)) is matches
