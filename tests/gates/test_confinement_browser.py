"""Hostile specs and pages: nothing a preview or a spec does may reach another origin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.gates.conftest import Recorder
from tests.gates.helpers import make_spec
from triagebot.gates.runner import GateOptions, run_gate
from triagebot.settings import Settings
from triagebot.spec import Goto, Request

pytestmark = pytest.mark.browser


def hostile_pages(outside: str) -> dict[str, tuple[int, dict[str, str], str]]:
    """Pages that try, each in its own way, to make the browser talk to `outside`."""
    html = {
        "/js-location": f'<script>location = "{outside}/js-location";</script>',
        "/link": f'<a data-testid="out" href="{outside}/link">leave</a>',
        "/meta-refresh": f'<meta http-equiv="refresh" content="0;url={outside}/meta">',
        "/popup": f'<script>window.open("{outside}/popup");</script>',
        "/form": f'<form id=f method=post action="{outside}/form"></form><script>f.submit()</script>',
        "/subresources": (
            f'<img src="{outside}/img"><script src="{outside}/script.js"></script>'
            f'<link rel="stylesheet" href="{outside}/style.css"><iframe src="{outside}/iframe"></iframe>'
            f'<script>fetch("{outside}/fetch").catch(() => {{}}); navigator.sendBeacon("{outside}/beacon");'
            f'try {{ new WebSocket("{outside.replace("http", "ws")}/ws"); }} catch (e) {{}}</script>'
        ),
        "/schemes": (
            '<script>setTimeout(() => { location = "file:///etc/passwd"; }, 0);'
            'setTimeout(() => { location = "data:text/html,<h1>data</h1>"; }, 50);</script>'
        ),
        "/ok": "<h1>fine</h1>",
    }
    pages = {path: (200, {"Content-Type": "text/html"}, body) for path, body in html.items()}
    pages["/redirect"] = (302, {"Location": f"{outside}/redirect"}, "")
    pages["/api/redirect"] = (307, {"Location": f"{outside}/api"}, "")
    return pages


@pytest.fixture
def hostile_preview(outsider: Recorder) -> Iterator[str]:
    pages = hostile_pages(outsider.url)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            del format, args

        def do_GET(self) -> None:
            status, headers, body = pages.get(self.path, (404, {"Content-Type": "text/plain"}, "not here"))
            data = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_POST = do_GET

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_nothing_reaches_another_origin(hostile_preview: str, outsider: Recorder, settings: Settings) -> None:
    port = outsider.url.rsplit(":", 1)[1]
    # Paths that survive the schema but look like other hosts once joined carelessly.
    sneaky = ["/%2F%2F127.0.0.2:" + port + "/x", "/.127.0.0.2:" + port, "/@127.0.0.2:" + port]
    specs = [
        make_spec("js-location", start="/js-location"),
        make_spec(
            "link",
            start="/link",
            steps=[{"action": "click", "locator": {"strategy": "testid", "value": "out"}}],
        ),
        make_spec("meta-refresh", start="/meta-refresh"),
        make_spec("popup", start="/popup"),
        make_spec("form", start="/form"),
        make_spec("redirect", start="/redirect"),
        make_spec("subresources", start="/subresources"),
        make_spec("schemes", start="/schemes"),
        make_spec("request-redirect", kind="http", steps=[{"action": "request", "path": "/api/redirect"}]),
        make_spec("setup-redirect", start="/ok", setup={"path": "/api/redirect", "fixture": "x"}),
        make_spec("sneaky-paths", start="/ok", steps=[{"action": "goto", "path": path} for path in sneaky]),
    ]
    options = GateOptions.from_settings(settings, retries=0, setup_secret="s", settle_ms=300)

    gate = run_gate(specs, base_url=hostile_preview, settings=settings, options=options)

    assert outsider.requests == []
    results = {result.spec_id: result for result in gate.results}
    for spec_id in ("js-location", "link", "meta-refresh", "popup", "form", "redirect"):
        failure = results[spec_id].failure
        assert failure is not None, spec_id
        assert f"leave the preview origin: {outsider.url}/" in failure.message, (spec_id, failure.message)
    # Sub-resources are refused quietly: the page itself stayed on the preview.
    assert results["subresources"].status == "passed"
    # Chromium refuses file: and data: top-level navigations itself; either way the page stays.
    assert results["schemes"].status == "passed"
    # Direct requests never follow redirects: the 307 is an answer, not a hop.
    assert results["request-redirect"].status == "passed"
    setup = results["setup-redirect"]
    assert setup.status == "error" and setup.failure is not None
    assert setup.failure.message.startswith("setup up answered 307")
    assert results["sneaky-paths"].status == "passed"  # they are paths on the preview (404 pages)


def test_paths_are_built_on_the_preview_origin_only() -> None:
    """The schema refuses these; the runner's own check refuses them even when built unchecked."""
    from triagebot.errors import BadInput
    from triagebot.origin import url_on_origin

    origin = "http://127.0.0.1:8000"
    for path in ("@evil.com/", ":80@evil.com/", ".evil.com/", "/\\evil.com", "/\tx", "evil.com", ""):
        with pytest.raises(BadInput):
            url_on_origin(origin, Goto.model_construct(path=path).path)
        with pytest.raises(BadInput):
            url_on_origin(origin, Request.model_construct(path=path).path)
    assert url_on_origin(origin, "//evil.com/") == "http://127.0.0.1:8000//evil.com/"
    assert url_on_origin(origin, "/%2F%2Fevil.com") == "http://127.0.0.1:8000/%2F%2Fevil.com"
