"""A local server speaking the parts of Sentry's web API triagebot calls."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from tests.support.httpserver import LocalServer, Reply

FIXTURES = Path(__file__).parents[1] / "fixtures" / "sentry"


class FakeSentry:
    """Serves latest events, issue lists and issue updates; records every request."""

    def __init__(self, org: str = "acme") -> None:
        self.org = org
        self.requests: list[tuple[str, str, Any]] = []
        self.latest: dict[str, Any] = json.loads(
            (FIXTURES / "api.issue_latest_event.javascript_browser.json").read_text()
        )
        self.issues: list[dict[str, Any]] = []
        self.failures: list[Reply] = []
        self.lock = threading.Lock()
        self.server = LocalServer(self._route)
        self.url = self.server.url

    def _route(self, verb: str, path: str, body: Any, headers: dict[str, str]) -> Reply:
        with self.lock:
            self.requests.append((verb, path, body))
            if headers.get("authorization") != "Bearer sentry-token":
                return 401, {}, {"detail": "Invalid token"}
            if self.failures:
                return self.failures.pop(0)
        prefix = f"/api/0/organizations/{self.org}/issues/"
        if verb == "GET" and path.endswith("/events/latest/"):
            return 200, {}, self.latest
        if verb == "GET" and path == prefix:
            return 200, {"Link": '<x>; rel="next"; results="false"; cursor="0:100:0"'}, self.issues
        if verb == "PUT" and path.startswith(prefix):
            return (
                200,
                {},
                {"id": path.rstrip("/").rsplit("/", 1)[-1], **(body if isinstance(body, dict) else {})},
            )
        return 404, {}, {"detail": "not found"}

    def stop(self) -> None:
        """Stop the server."""
        self.server.stop()
