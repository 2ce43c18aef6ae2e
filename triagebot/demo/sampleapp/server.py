"""Tiny Shop, the bundled sample app: a buggy and a fixed build served on an ephemeral port.

The buggy build has two real bugs a gate should catch:
- clicking "Apply coupon" with an unknown or empty code throws
  `TypeError: Cannot read properties of undefined (reading 'discount')` in the browser;
- `POST /api/orders` answers 500 (the server reads a coupon that is not there).

Four more bugs need state to show, each fixed in the fixed build (`state.js`):
- `/account` is behind a sign-in (`/login`, or `POST /api/login` with JSON) and "Show orders" throws
  for an account without orders;
- `/basket`'s "Check out" throws only when the cookie `flag_new-basket` is `true`;
- `/search` (no button: Enter searches) throws only for a term with an unpriced product (`lamp`);
- `/shipping`'s quote answers 500 only for the country picked in its `<select>` being `NO`.

It also implements the app side of the gate's data-setup contract (`POST /__triagebot/setup`,
see `triagebot.gates.setup`) and two endpoints for exercising the runner: `/api/flaky?key=K`
fails only the first time it sees a key, and `/api/slow?ms=N` answers after a delay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

Build = Literal["buggy", "fixed"]
SETUP_PATH = "/__triagebot/setup"
SETUP_MAX_SKEW_SECONDS = 300
MAX_SLOW_MS = 10_000
PRICES = {"mug": 12, "tee": 30}
STATE_PAGES = ("/login", "/account", "/basket", "/search", "/shipping")
STATE_PAGE = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tiny Shop</title></head>
<body><nav><a href="/">Shop</a></nav><main id="view"></main><script src="/static/state.js"></script></body>
</html>"""
# Who may sign in: the sample app's one account (tests pass their own through serve_sample_app).
DEFAULT_LOGIN = ("qa@example.com", "tiny-shop-password")
CATALOGUE: list[dict[str, Any]] = [
    {"name": "Mug", "price": 12.0},
    {"name": "Desk lamp", "price": None},  # price on request
    {"name": "Lamp shade", "price": 9.5},
]
SHIPPING_RATES = {"US": 15, "DE": 9}  # the buggy build has no rate for NO
FIXED_RATES = {**SHIPPING_RATES, "NO": 21}


def _asset(name: str) -> bytes:
    return resources.files(__package__).joinpath(name).read_bytes()


@dataclass
class AppState:
    """What the app remembers: seeded orders, flaky-endpoint counters, and every request seen."""

    build: Build
    setup_secret: bytes | None
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    seeded_by: dict[str, list[str]] = field(default_factory=dict)  # run_id -> order ids
    flaky_seen: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)
    setup_calls: list[dict[str, Any]] = field(default_factory=list)
    login: tuple[str, str] = DEFAULT_LOGIN
    sessions: set[str] = field(default_factory=set)
    headers_seen: list[dict[str, str]] = field(default_factory=list)  # every request's headers
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests and the demo print their own
        del format, args

    @property
    def state(self) -> AppState:
        return self.server.state

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: object) -> None:
        self._send(status, json.dumps(data).encode())

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 1_000_000))

    def _record(self) -> str:
        path = urlsplit(self.path).path
        with self.state.lock:
            self.state.requests.append((self.command, self.path))
            self.state.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
        return path

    def do_GET(self) -> None:
        path = self._record()
        query = parse_qs(urlsplit(self.path).query)
        if path in ("/", "/cart") or path.startswith("/orders/"):
            self._send(200, _asset("page.html"), "text/html; charset=utf-8")
        elif path == "/static/app.js":
            script = f"const BUILD = {json.dumps(self.state.build)};\n".encode() + _asset("app.js")
            self._send(200, script, "text/javascript; charset=utf-8")
        elif path.startswith("/api/orders/"):
            order = self.state.orders.get(path.removeprefix("/api/orders/"))
            if order is None:
                self._json(404, {"error": "no such order"})
            else:
                self._json(200, order)
        elif path == "/api/flaky":
            key = (query.get("key") or ["default"])[0]
            with self.state.lock:
                first = key not in self.state.flaky_seen
                self.state.flaky_seen.add(key)
            self._json(503 if first else 200, {"key": key, "first": first})
        elif path == "/api/slow":
            delay = min(int((query.get("ms") or ["0"])[0]), MAX_SLOW_MS)
            time.sleep(delay / 1000)
            self._json(200, {"slept_ms": delay})
        elif path in STATE_PAGES:
            self._send(200, STATE_PAGE, "text/html; charset=utf-8")
        elif path == "/static/state.js":
            script = f"const BUILD = {json.dumps(self.state.build)};\n".encode() + _asset("state.js")
            self._send(200, script, "text/javascript; charset=utf-8")
        elif path == "/api/account":
            if self._session() is None:
                self._json(401, {"error": "sign in first"})
            else:
                self._json(200, {"name": "QA", "orders": None})
        elif path == "/api/search":
            term = (query.get("q") or [""])[0].strip().lower()
            found = [item for item in CATALOGUE if term and term in str(item["name"]).lower()]
            self._json(200, found)
        elif path == "/api/shipping":
            country = (query.get("country") or [""])[0]
            rates = FIXED_RATES if self.state.build == "fixed" else SHIPPING_RATES
            if country not in FIXED_RATES:
                self._json(400, {"error": "choose a country"})
            elif country not in rates:
                self._json(500, {"error": f"KeyError: {country!r}"})
            else:
                self._json(200, {"country": country, "rate": rates[country]})
        elif path == "/healthz":
            self._json(200, {"ok": True, "build": self.state.build})
        else:
            self._json(404, {"error": "not found"})

    do_HEAD = do_GET

    def do_POST(self) -> None:
        path = self._record()
        body = self._body()
        if path == "/api/orders":
            self._place_order(body)
        elif path == SETUP_PATH:
            self._setup(body)
        elif path == "/api/login":
            self._sign_in(body)
        else:
            self._json(404, {"error": "not found"})

    def _place_order(self, body: bytes) -> None:
        try:
            payload = json.loads(body or b"{}")
            items = [str(sku) for sku in payload.get("items", [])]
        except (ValueError, AttributeError):
            self._json(400, {"error": "expected a JSON object with items"})
            return
        coupon = payload.get("coupon")
        if self.state.build == "buggy":
            # The bug: the server assumes every order carries a coupon.
            self._json(500, {"error": "KeyError: 'discount'", "coupon": coupon})
            return
        total = sum(PRICES.get(sku, 0) for sku in items)
        self._json(201, {"id": f"ord-{len(self.state.orders) + 1}", "total": total, "coupon": coupon})

    def _session(self) -> str | None:
        cookies = SimpleCookie(self.headers.get("Cookie", ""))
        session = cookies["sid"].value if "sid" in cookies else None
        return session if session in self.state.sessions else None

    def _sign_in(self, body: bytes) -> None:
        try:
            payload = json.loads(body or b"{}")
            given = (str(payload.get("email")), str(payload.get("password")))
        except (ValueError, AttributeError):
            self._json(400, {"error": "expected a JSON object with email and password"})
            return
        if not (
            hmac.compare_digest(given[0], self.state.login[0])
            and hmac.compare_digest(given[1], self.state.login[1])
        ):
            self._json(401, {"error": "wrong email or password"})
            return
        session = secrets.token_hex(16)
        with self.state.lock:
            self.state.sessions.add(session)
        body_out = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body_out)))
        self.send_header("Set-Cookie", f"sid={session}; Path=/; HttpOnly; SameSite=Lax")
        self.end_headers()
        self.wfile.write(body_out)

    def _setup(self, body: bytes) -> None:
        problem = verify_setup_request(
            self.state.setup_secret,
            body,
            self.headers.get("X-Triagebot-Signature", ""),
            self.headers.get("X-Triagebot-Timestamp", ""),
        )
        if problem:
            self._json(HTTPStatus.UNAUTHORIZED if problem != "not configured" else 404, {"error": problem})
            return
        payload = json.loads(body)
        with self.state.lock:
            self.state.setup_calls.append(payload)
            run_id = str(payload.get("run_id"))
            if payload.get("action") == "up" and payload.get("fixture") == "order":
                order = {"id": str(payload["data"].get("id", "ord-seeded")), **payload["data"]}
                self.state.orders[order["id"]] = order
                self.state.seeded_by.setdefault(run_id, []).append(order["id"])
            elif payload.get("action") == "down":
                for order_id in self.state.seeded_by.pop(run_id, []):
                    self.state.orders.pop(order_id, None)
            elif payload.get("action") != "up":
                self._json(400, {"error": "action must be up or down"})
                return
        self._json(200, {"ok": True})


def verify_setup_request(secret: bytes | None, body: bytes, signature: str, timestamp: str) -> str | None:
    """Check a setup call's HMAC and freshness; return the problem, or None when it is genuine."""
    if secret is None:
        return "not configured"
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        return "bad signature"
    try:
        payload = json.loads(body)
        sent = int(timestamp)
    except ValueError:
        return "bad timestamp"
    # The timestamp is inside the signed body too, so a captured call cannot be replayed later.
    if payload.get("timestamp") != sent or abs(time.time() - sent) > SETUP_MAX_SKEW_SECONDS:
        return "stale or mismatched timestamp"
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], state: AppState) -> None:
        super().__init__(address, _Handler)
        self.state = state


@dataclass
class SampleApp:
    """A running sample app: its base URL, its state, and how to stop it."""

    url: str
    state: AppState
    _server: _Server
    _thread: threading.Thread

    def stop(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SampleApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_sample_app(
    build: Build,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    setup_secret: str | None = None,
    login: tuple[str, str] = DEFAULT_LOGIN,
) -> SampleApp:
    """Start the sample app in a background thread; port 0 picks a free one."""
    if build not in ("buggy", "fixed"):
        raise ValueError(f"build must be 'buggy' or 'fixed', not {build!r}")
    state = AppState(build=build, setup_secret=setup_secret.encode() if setup_secret else None, login=login)
    server = _Server((host, port), state)
    thread = threading.Thread(target=server.serve_forever, name=f"sampleapp-{build}", daemon=True)
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    return SampleApp(url=f"http://{bound_host!s}:{bound_port}", state=state, _server=server, _thread=thread)
