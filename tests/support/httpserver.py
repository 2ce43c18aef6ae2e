"""A tiny threaded HTTP server on an ephemeral port, for wire-level doubles of remote APIs."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

# (status, headers, body) answered for (method, path, parsed body, headers)
Reply = tuple[int, dict[str, str], Any]
Route = Callable[[str, str, Any, dict[str, str]], Reply]


class LocalServer:
    """Serve `route` on 127.0.0.1:<free port> in a background thread until stopped."""

    def __init__(self, route: Route) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                kind = self.headers.get("Content-Type", "")
                body: Any
                if "json" in kind and raw:
                    body = json.loads(raw)
                elif "x-www-form-urlencoded" in kind:
                    body = {key: values[0] for key, values in parse_qs(raw.decode()).items()}
                else:
                    body = raw
                split = urlsplit(self.path)
                headers = {key.lower(): value for key, value in self.headers.items()}
                headers["query"] = split.query
                status, reply_headers, reply = outer.route(self.command, split.path, body, headers)
                data = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", reply_headers.pop("Content-Type", "application/json"))
                for key, value in reply_headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, *args: Any) -> None:
                pass

        self.route = route
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # stop() waits for serve_forever's next poll; the default 0.5 s would add that to every test.
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> LocalServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
