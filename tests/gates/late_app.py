"""A tiny app whose buggy build throws late: after a slow response, in a timer, in a rejected promise.

Each page has one button; the error comes only after the click's work has gone through the network
and the event loop, which is what a gate on a busy machine must wait for. The fixed build answers
the same requests with the data the page expects, so nothing is thrown.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

Build = Literal["buggy", "fixed"]

# The error each page throws on the buggy build: (type, message), as Sentry would have recorded it.
ERRORS = {
    "slow-fetch": ("TypeError", "Cannot read properties of undefined (reading 'price')"),
    "quick-fetch": ("TypeError", "Cannot read properties of undefined (reading 'price')"),
    "slow-xhr": ("TypeError", "Cannot read properties of null (reading 'name')"),
    "timer": ("RangeError", "Invalid array length"),
    "rejection": ("Error", "stock check failed for product 42"),
}

SCRIPTS = {
    # The handler that throws runs after GET /api/products/42 has answered (slowly).
    "slow-fetch": """
      fetch("/api/products/42?ms=1200").then((r) => r.json()).then((data) => {
        out.textContent = "Price " + data.product.price.toFixed(2);
      });""",
    # The same bug behind a quick answer: only a busy renderer makes it late.
    "quick-fetch": """
      fetch("/api/products/42?ms=0").then((r) => r.json()).then((data) => {
        out.textContent = "Price " + data.product.price.toFixed(2);
      });""",
    "slow-xhr": """
      const xhr = new XMLHttpRequest();
      xhr.open("GET", "/api/owner?ms=900");
      xhr.onload = () => {
        const owner = JSON.parse(xhr.responseText).owner;
        out.textContent = "Owner " + owner.name;
      };
      xhr.send();""",
    # Thrown in a timer well after the click and every request are over.
    "timer": """
      fetch("/api/products/42?ms=0").then((r) => r.json()).then((data) => {
        setTimeout(() => {
          const rows = new Array(data.count);
          out.textContent = rows.length + " rows";
        }, 1500);
      });""",
    # An async handler whose rejection nobody catches.
    "rejection": """
      (async () => {
        const r = await fetch("/api/stock/42?ms=700");
        const stock = await r.json();
        await new Promise((resolve) => setTimeout(resolve, 300));
        if (!stock.ok) throw new Error("stock check failed for product 42");
        out.textContent = "In stock";
      })();""",
}

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Late</title></head>
<body>
  <button data-testid="go">Go</button>
  <p id="out">idle</p>
  <script>
    const out = document.getElementById("out");
    document.querySelector("[data-testid=go]").addEventListener("click", () => {%s
    });
  </script>
</body></html>
"""


def _api(path: str, build: Build) -> Any:
    if path == "/api/products/42":
        product = {"id": 42, "price": 9.5}
        return {"count": 3, "product": product} if build == "fixed" else {"count": -1}
    if path == "/api/owner":
        return {"owner": {"name": "Ada"} if build == "fixed" else None}
    if path == "/api/stock/42":
        return {"ok": build == "fixed"}
    return None


@dataclass
class LateApp:
    url: str
    server: ThreadingHTTPServer


@contextmanager
def serve_late_app(build: Build) -> Iterator[LateApp]:
    """Serve the app's `build` on 127.0.0.1 (a free port) until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            del format, args

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            kind = parts.path.removeprefix("/late/")
            if kind in SCRIPTS:
                self._send(200, (PAGE % SCRIPTS[kind]).encode(), "text/html; charset=utf-8")
                return
            data = _api(parts.path, build)
            if data is None:
                self._send(404, b"not found", "text/plain")
                return
            time.sleep(int(parse_qs(parts.query).get("ms", ["0"])[0]) / 1000)
            self._send(200, json.dumps(data).encode(), "application/json")

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield LateApp(url=f"http://127.0.0.1:{server.server_address[1]}", server=server)
    finally:
        server.shutdown()
        server.server_close()
