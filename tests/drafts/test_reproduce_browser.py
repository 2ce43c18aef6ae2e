"""A draft reproduces the bug out of the box: it fails on the buggy tiny shop and passes on the fix.

The Sentry event (tests/fixtures/sentry/drafts/event.javascript_browser.coupon.sdk.json) describes a
user opening the cart, typing a coupon and clicking "Apply coupon", which throws a TypeError in the
buggy build. The draft is run twice over: by the gate runner from the spec, and as the rendered
pytest-playwright file driven with a real Chromium page.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from triagebot.drafts.derive import derive_spec
from triagebot.drafts.render import render_test
from triagebot.integrations.chromium import LAUNCH_ARGS, find_chromium
from triagebot.integrations.sentry.event import normalize_event
from triagebot.settings import Settings
from triagebot.spec import Spec

from .helpers import load_fixture

CHROMIUM = find_chromium(None)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (make chromium)"),
]

SHOP = """<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head>
<body><div id="app"></div>
<script>
const BUGGY = %(buggy)s;
function render() {
  const app = document.getElementById("app");
  if (location.pathname === "/cart") {
    app.innerHTML = '<h1>Cart</h1><form><input type="text" name="coupon" aria-label="Coupon code">'
      + '<button type="button" aria-label="Apply coupon">Apply</button></form>';
    app.querySelector("button").addEventListener("click", () => {
      const code = app.querySelector("input").value;
      if (!BUGGY && !document.querySelector(".discount")) {
        const line = document.createElement("p");
        line.className = "discount";
        app.appendChild(line);
      }
      // The bug: the discount line only exists once a discount was shown before.
      const line = document.querySelector(".discount");
      const previous = line.textContent;
      line.textContent = previous ? previous + ", " + code : "Coupon " + code + " applied";
    });
  } else {
    app.innerHTML = '<h1>Shop</h1><button data-testid="open-cart">Open cart</button>';
    app.querySelector("button").addEventListener("click", () => {
      history.pushState({}, "", "/cart");
      render();
    });
  }
}
render();
</script></body></html>
"""


@contextmanager
def serve_shop(*, buggy: bool) -> Iterator[str]:
    """Serve the single-page shop on an ephemeral port; every path answers with the app."""
    with _serve(200, (SHOP % {"buggy": "true" if buggy else "false"}).encode()) as url:
        yield url


@contextmanager
def serve_divide(*, buggy: bool) -> Iterator[str]:
    """Serve a backend whose /divide-zero/ fails with a 500 (and Django's debug text) when buggy."""
    if buggy:
        with _serve(500, b"<h1>ZeroDivisionError at /divide-zero/</h1><p>division by zero</p>") as url:
            yield url
    else:
        with _serve(200, b"<p>Nothing to divide.</p>") as url:
            yield url


@contextmanager
def _serve(status: int, page: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def spec() -> Spec:
    event = normalize_event(load_fixture("drafts/event.javascript_browser.coupon.sdk.json"))
    return derive_spec(event, issue={"id": "901", "shortId": "SHOP-12"})


def _gate_settings(tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        preview_hosts=["127.0.0.1"],
        data_dir=tmp_path / "data",
        gate_step_timeout_ms=5_000,
        gate_spec_timeout_ms=30_000,
    )


def test_gate_runner_fails_the_buggy_shop_and_passes_the_fixed_one(spec: Spec, tmp_path: Path) -> None:
    from triagebot.gates.runner import GateOptions, run_gate

    settings = _gate_settings(tmp_path)
    options = GateOptions.from_settings(settings, retries=0)
    with serve_shop(buggy=True) as url:
        buggy = run_gate([spec], base_url=url, settings=settings, options=options)
    with serve_shop(buggy=False) as url:
        fixed = run_gate([spec], base_url=url, settings=settings, options=options)

    assert buggy.verdict == "failed" and fixed.verdict == "passed"
    (result,) = buggy.results
    assert result.spec_id == "shop-12" and result.status == "failed"
    failure = result.failure
    assert failure is not None
    assert "TypeError: Cannot read properties of null (reading 'textContent')" in failure.evidence.page_errors
    assert [r.status for r in fixed.results] == ["passed"]


def test_backend_draft_fails_on_the_500_and_passes_on_the_fix(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from triagebot.gates.runner import GateOptions, run_gate

    spec = derive_spec(normalize_event(load_fixture("api.issue_latest_event.python_django.json")))
    settings = _gate_settings(tmp_path)
    options = GateOptions.from_settings(settings, retries=0)
    with serve_divide(buggy=True) as url:
        assert run_gate([spec], base_url=url, settings=settings, options=options).verdict == "failed"
    with serve_divide(buggy=False) as url:
        assert run_gate([spec], base_url=url, settings=settings, options=options).verdict == "passed"

    rendered = _load_rendered(spec, tmp_path, "test_regression_sentry_64")
    properties: list[tuple[str, object]] = []

    def record(name: str, value: object) -> None:  # pytest's record_property
        properties.append((name, value))

    with sync_playwright() as pw:
        # As the rendered file's `api` fixture builds it, from pytest-playwright's --base-url.
        with serve_divide(buggy=True) as url, pytest.raises(AssertionError, match="failed with 500"):
            rendered(api=pw.request.new_context(base_url=url), record_property=record)
        with serve_divide(buggy=False) as url:
            rendered(api=pw.request.new_context(base_url=url), record_property=record)
    assert ("sentry issue", "64") in properties


def _load_rendered(spec: Spec, tmp_path: Path, name: str = "test_regression_shop_12") -> Callable[..., None]:
    relative, text = render_test(spec, "python")
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    module_spec = importlib.util.spec_from_file_location(f"rendered_{name}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module  # as pytest's import does; dataclasses look the module up
    module_spec.loader.exec_module(module)
    test: Callable[..., None] = getattr(module, name)
    return test


def test_rendered_python_test_fails_on_the_bug_and_passes_on_the_fix(spec: Spec, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    rendered = _load_rendered(spec, tmp_path)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True, chromium_sandbox=False
        )
        try:
            # pytest-playwright gives the page a context whose base URL is --base-url.
            with serve_shop(buggy=True) as url:
                page = browser.new_page(base_url=url)
                with pytest.raises(AssertionError, match="the Sentry exception must not be thrown again"):
                    rendered(page=page, base_url=url, record_property=lambda *_: None)
                page.close()
            with serve_shop(buggy=False) as url:
                page = browser.new_page(base_url=url)
                rendered(page=page, base_url=url, record_property=lambda *_: None)
                assert page.locator(".discount").inner_text() == "Coupon test applied"
                page.close()
        finally:
            browser.close()
