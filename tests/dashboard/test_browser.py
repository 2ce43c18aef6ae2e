"""The dashboard in Chromium against a running server: sign-in, navigation, evidence, no console errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.conftest import make_settings
from tests.dashboard.seed import HOSTILE, seed
from triagebot.app import create_app
from triagebot.bootstrap import Services, build_services
from triagebot.integrations.chromium import LAUNCH_ARGS, find_chromium

pytestmark = pytest.mark.browser
TOKEN = "dashboard-token-for-tests"


@pytest.fixture
def running(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, Services, dict[str, Any]]]:
    """The app under uvicorn on an ephemeral port, with local threads (no Slack token) and seeded data."""
    services = build_services(make_settings(sqlite_url, tmp_path))
    ids = seed(services)
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}", services, ids
    server.should_exit = True
    thread.join(10)
    services.engine.dispose()


@pytest.fixture
def page() -> Iterator[Any]:
    """A Chromium page that records console errors and uncaught page errors."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium(None)
    if executable is None:
        pytest.skip("no Chromium installed")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable, headless=True, chromium_sandbox=False, args=LAUNCH_ARGS
        )
        context = browser.new_context(accept_downloads=True)
        opened = context.new_page()
        opened.errors = []  # type: ignore[attr-defined]
        opened.on("console", lambda msg: msg.type == "error" and opened.errors.append(msg.text))
        opened.on("pageerror", lambda exc: opened.errors.append(str(exc)))
        yield opened
        context.close()
        browser.close()


def test_sign_in_navigate_and_see_evidence(running: tuple[str, Services, dict[str, Any]], page: Any) -> None:
    base, _services, ids = running
    # Nothing is visible without signing in: a deep link lands on the login form and comes back after.
    page.goto(f"{base}/tests")
    assert page.url == f"{base}/login?next=/tests"
    page.fill("#token", "wrong")
    page.click("button[type=submit]")
    assert page.get_by_role("alert").inner_text() == "That token is not the dashboard token."
    page.fill("#token", TOKEN)
    page.click("button[type=submit]")
    assert page.url == f"{base}/tests"
    assert page.locator("tbody tr").count() == 1
    assert "checkout-total" in page.locator("tbody").inner_text()

    page.click("text=Coverage")
    assert page.url == f"{base}/"
    rows = page.locator("tbody tr")
    assert rows.count() == 1  # issue 2 has an active test, issue 3 is excluded
    assert HOSTILE in rows.first.inner_text()  # shown as text, never run
    assert page.locator("svg.chart rect.bar-covered").count() == 14
    page.select_option("select[name=show]", "all")
    page.click("text=Update")
    assert page.locator("tbody tr").count() == 3

    page.click("a[href='/issues/1']")
    thread = page.locator(".thread").inner_text()
    assert "*TypeError* in checkout <b>" in thread and "Seen again after the release" in thread
    page.click("text=Create regression test")
    # No repository is configured here: the click says so at once instead of queueing a doomed draft.
    assert page.get_by_role("status").inner_text().startswith("Cannot draft a regression test: no repository")
    assert page.locator(".state").first.inner_text() == "no draft"
    page.fill("input[name=reason]", "covered by unit tests")
    page.click('button:has-text("Won\'t test")')
    assert page.get_by_role("status").inner_text() == "Marked as won't test."
    assert "covered by unit tests (dashboard)" in page.locator("dl.facts").inner_text()

    page.click("text=Gates")
    page.click(f"a[href='/gates/{ids['gate_id']}']")
    # Polled from here: wait_for_function polls with eval, which the dashboard's CSP forbids.
    for _ in range(100):
        if page.evaluate("document.querySelector('.evidence img').complete"):
            break
        page.wait_for_timeout(100)
    assert page.evaluate("document.querySelector('.evidence img').naturalWidth") == 8
    with page.expect_download() as download:
        page.click("text=Download the Playwright trace")
    assert download.value.suggested_filename == f"trace-{ids['gate_id']}-1.zip"
    assert "playwright show-trace" in page.locator(".evidence").inner_text()

    page.click("text=Flags")
    assert page.locator("svg.chart polyline.rollout").count() == 1
    assert page.locator("section table tbody tr").count() == 2

    page.click("text=Sign out")
    page.goto(f"{base}/flags")
    assert page.url == f"{base}/login?next=/flags"
    assert page.errors == []
