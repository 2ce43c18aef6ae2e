"""A signed-in draft with flags runs as rendered, in both languages, against an app that needs all of it.

The app wants a bypass header on every request (as Vercel's protection does), a session from its
sign-in form, and shows the bug only when the `new-basket` flag cookie is set. The rendered tests
must sign in with values from the environment, send the header to the app and to no other host,
and set the flag before the first page: then they fail on the buggy build and pass on the fixed one.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from triagebot.drafts.config import parse_preview_config
from triagebot.drafts.render import render_test
from triagebot.integrations.chromium import LAUNCH_ARGS, find_chromium
from triagebot.spec import Spec, parse_spec

from .test_generated_lint import node_workspace, run_node

CHROMIUM = find_chromium(None)
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium installed (make chromium)"),
]

BYPASS, USER, PASSWORD = "bypass-7f3a", "ada@example.com", "correct horse"
ENV = {"BYPASS_TOKEN": BYPASS, "E2E_USER": USER, "E2E_PASSWORD": PASSWORD}
CONFIG = """
preview:
  login:
    url: /login
    fields: {"#email": E2E_USER, "#password": E2E_PASSWORD}
    submit: "button[type=submit]"
    success_url: /account
  flags: {cookie: "flag_{name}"}
  headers: {x-bypass: BYPASS_TOKEN}
"""
BASKET = """<!doctype html><html><body><h1>Basket</h1><img src="%(pixel)s" alt="">
<script>
const flagged = document.cookie.split("; ").includes("flag_new-basket=true");
const basket = %(basket)s;
// The bug: the new basket reads items that the buggy build never loads.
if (flagged) document.body.append(String(basket.items.length) + " items");
</script></body></html>"""
LOGIN = """<!doctype html><html><body><form method="post" action="/login">
<input id="email" name="email"><input id="password" name="password" type="password">
<button type="submit">Sign in</button></form></body></html>"""


@dataclass
class Seen:
    """What the servers saw: the bypass header's values, per server."""

    app: list[str | None] = field(default_factory=list)
    other: list[str | None] = field(default_factory=list)


@contextmanager
def _server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_app(*, buggy: bool, seen: Seen) -> Iterator[str]:
    """Serve the app and, on another port, a pixel host that must never get the bypass header."""

    class Other(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.other.append(self.headers.get("x-bypass"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            del format, args

    with _server(Other) as other:

        class App(BaseHTTPRequestHandler):
            def _send(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
                data = body.encode()
                self.send_response(status)
                for name, value in {"Content-Type": "text/html", **(headers or {})}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _allowed(self) -> bool:
                seen.app.append(self.headers.get("x-bypass"))
                if self.headers.get("x-bypass") != BYPASS:
                    self._send(401, "protected preview")
                    return False
                return True

            def do_GET(self) -> None:
                if not self._allowed():
                    return
                signed_in = "session=ada" in (self.headers.get("Cookie") or "")
                if self.path == "/login":
                    self._send(200, LOGIN)
                elif not signed_in:
                    self._send(303, headers={"Location": "/login"})
                elif self.path == "/account":
                    self._send(200, "<h1>Your account</h1>")
                else:
                    basket = "{}" if buggy else '{"items": []}'
                    self._send(200, BASKET % {"pixel": f"{other}/pixel.gif", "basket": basket})

            def do_POST(self) -> None:
                if not self._allowed():
                    return
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                if form.get("email") == [USER] and form.get("password") == [PASSWORD]:
                    self._send(303, headers={"Location": "/account", "Set-Cookie": "session=ada; Path=/"})
                else:
                    self._send(303, headers={"Location": "/login"})

            def log_message(self, format: str, *args: object) -> None:
                del format, args

        with _server(App) as url:
            yield url


@pytest.fixture
def spec() -> Spec:
    return parse_spec(
        {
            "version": 2,
            "id": "shop-77",
            "issue": {"id": "77", "short_id": "SHOP-77", "link": "https://sentry.example/issues/77/"},
            "sign_in": True,
            "flags": [{"key": "new-basket", "value": True}],
            "start": "/basket",
            "assertions": {
                "page_error": {"type": "TypeError", "message": "Cannot read properties of undefined"}
            },
        }
    )


def test_typescript_signs_in_sets_the_flag_and_keeps_the_header_on_the_app(spec: Spec) -> None:
    path, text = render_test(spec, "ts", preview=parse_preview_config(CONFIG))
    assert BYPASS not in text and USER not in text and PASSWORD not in text
    env = {**ENV, "CHROMIUM_PATH": CHROMIUM or "", "CI": "1"}
    for root in node_workspace():
        (root / "tests" / Path(path).name).write_text(text, encoding="utf-8")
        for buggy in (True, False):
            seen = Seen()
            with serve_app(buggy=buggy, seen=seen) as url:
                result = run_node(root, "playwright", "test", env={**env, "BASE_URL": url})
            output = result.stdout + result.stderr
            if buggy:
                assert result.returncode == 1, output
                assert "the Sentry exception must not be thrown again" in output, output
            else:
                assert result.returncode == 0, output
            assert seen.app and set(seen.app) == {BYPASS}, seen.app  # every request to the app had it
            assert seen.other and set(seen.other) == {None}, seen.other  # the other host never did


def _load(text: str, tmp_path: Path, name: str) -> Callable[..., None]:
    path = tmp_path / f"test_{name}.py"
    path.write_text(text, encoding="utf-8")
    module_spec = importlib.util.spec_from_file_location(f"rendered_{name}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = module
    module_spec.loader.exec_module(module)
    test: Callable[..., None] = getattr(module, f"test_regression_{name}")
    return test


def test_python_signs_in_sets_the_flag_and_keeps_the_header_on_the_app(
    spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import sync_playwright

    _, text = render_test(spec, "python", preview=parse_preview_config(CONFIG))
    assert BYPASS not in text and USER not in text and PASSWORD not in text
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    rendered = _load(text, tmp_path, "shop_77")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, chromium_sandbox=False)
        try:
            for buggy in (True, False):
                seen = Seen()
                with serve_app(buggy=buggy, seen=seen) as url:
                    page = browser.new_page(base_url=url)  # as pytest-playwright makes it from --base-url
                    if buggy:
                        with pytest.raises(AssertionError, match="the Sentry exception must not be thrown"):
                            rendered(page=page, base_url=url, record_property=lambda *_: None)
                    else:
                        rendered(page=page, base_url=url, record_property=lambda *_: None)
                    page.close()
                assert seen.app and set(seen.app) == {BYPASS}
                assert seen.other and set(seen.other) == {None}
        finally:
            browser.close()
