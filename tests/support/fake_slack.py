"""A local server speaking Slack's Web API wire format, with scriptable failures (429, 500)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.httpserver import LocalServer, Reply

FIXTURES = Path(__file__).parents[1] / "fixtures" / "slack"


@dataclass
class Call:
    """One Web API call the fake received."""

    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.time)


class FakeSlack:
    """Records calls; answers like Slack; can be told to fail the next N calls of a method."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: dict[str, list[Reply]] = {}
        self.lock = threading.Lock()
        self.ts = itertools.count(1)
        self.server = LocalServer(self._route)
        self.base_url = self.server.url + "/api/"

    def fail(
        self,
        method: str,
        status: int,
        times: int = 1,
        retry_after: int | None = None,
        error: str = "internal_error",
    ) -> None:
        """Make the next `times` calls of `method` fail with `status` and `error` (429: Slack's real body)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if status == 429:
            fixture = json.loads((FIXTURES / "chat_postMessage_ratelimited_429.json").read_text())
            reply: Reply = (429, {**headers}, fixture["body"])
        else:
            reply = (status, headers, {"ok": False, "error": error})
        with self.lock:
            self.failures.setdefault(method, []).extend([reply] * times)

    def of(self, method: str) -> list[Call]:
        """Return the successful calls of one method, in order."""
        return [call for call in self.calls if call.method == method]

    def _route(self, verb: str, path: str, body: Any, headers: dict[str, str]) -> Reply:
        method = path.rsplit("/", 1)[-1]
        args = body if isinstance(body, dict) else {}
        with self.lock:
            queued = self.failures.get(method)
            if queued:
                status, reply_headers, reply = queued.pop(0)
                return status, dict(reply_headers), reply
            self.calls.append(Call(method, args))
            if method == "auth.test":
                return 200, {}, json.loads((FIXTURES / "auth_test_ok.json").read_text())
            if method == "chat.postMessage":
                ts = f"1700000000.{next(self.ts):06d}"
                return (
                    200,
                    {},
                    {
                        "ok": True,
                        "channel": args.get("channel"),
                        "ts": ts,
                        "message": {"ts": ts, "text": args.get("text")},
                    },
                )
            if method == "chat.update":
                return (
                    200,
                    {},
                    {
                        "ok": True,
                        "channel": args.get("channel"),
                        "ts": args.get("ts"),
                        "text": args.get("text"),
                    },
                )
            return 200, {}, {"ok": True}

    def stop(self) -> None:
        """Stop the server."""
        self.server.stop()
