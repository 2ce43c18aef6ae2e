"""A tiny app whose buggy build throws late: after a slow response, in a timer, in a rejected promise.

Also used by `bench.gate`, which drafts its specs from Sentry events about these pages.

Each page has one button; the error comes only after the click's work has gone through the network
and the event loop, which is what a gate on a busy machine must wait for. The fixed build answers
the same requests with the data the page expects, so nothing is thrown.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
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
    "server-error": ("Error", "order failed with status 500"),
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
    # A slow POST the buggy server answers with a 500, reported by a rejection after it.
    "server-error": """
      (async () => {
        const r = await fetch("/api/orders?ms=500", { method: "POST", body: "{}" });
        if (!r.ok) throw new Error("order failed with status " + r.status);
        out.textContent = "Order placed";
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


# Throws if anything an earlier spec could have left is still there, then leaves all of it behind:
# an HttpOnly cookie (the server reports it), a script cookie, local and session storage, IndexedDB
# and Cache Storage.
STATE_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>State</title></head>
<body><p id="out">checking</p>
<script>
  (async () => {
    const left = [];
    if (%s) left.push("server cookie");
    if (document.cookie.includes("script_seen")) left.push("cookie");
    if (localStorage.getItem("seen")) left.push("localStorage");
    if (sessionStorage.getItem("seen")) left.push("sessionStorage");
    if ((await indexedDB.databases()).some((db) => db.name === "seen")) left.push("IndexedDB");
    if ((await caches.keys()).includes("seen")) left.push("Cache Storage");
    document.cookie = "script_seen=1; path=/; max-age=3600";
    localStorage.setItem("seen", "1");
    sessionStorage.setItem("seen", "1");
    await new Promise((resolve) => { indexedDB.open("seen").onsuccess = resolve; });
    await caches.open("seen");
    if (left.length) throw new Error("leftover state: " + left.join(", "));
    document.getElementById("out").textContent = "clean";
  })();
</script></body></html>
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
            # The browser may close a context while an answer is on its way.
            with suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if parts.path != "/api/orders":
                self._send(404, b"not found", "text/plain")
                return
            time.sleep(int(parse_qs(parts.query).get("ms", ["0"])[0]) / 1000)
            if build == "buggy":
                self._send(500, b'{"error": "coupon is None"}', "application/json")
            else:
                self._send(201, b'{"id": "ord-1"}', "application/json")

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            kind = parts.path.removeprefix("/late/")
            if parts.path == "/state":
                seen = "late_seen=1" in (self.headers.get("Cookie") or "")
                body = (STATE_PAGE % ("true" if seen else "false")).encode()
                self.send_response(200)
                self.send_header("Set-Cookie", "late_seen=1; Path=/; HttpOnly; Max-Age=3600")
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
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
