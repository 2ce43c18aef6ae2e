"""Dashboard sign-in: one shared token, given once through a login form (or as a Bearer header).

The login sets a signed, HttpOnly, SameSite=Lax session cookie; POST forms also carry a CSRF token derived
from that cookie. Both are HMACs keyed by the dashboard token, so changing the token signs everyone out.
Without a configured token, development mode makes one up at start and logs the login URL; production
mode refuses to serve the dashboard at all (webhooks and `/healthz` keep working).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import HTTPException, Request

from triagebot.settings import Settings, secret

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

log = logging.getLogger(__name__)

COOKIE = "triagebot_session"
SESSION_SECONDS = 14 * 24 * 3600


@dataclass
class DashboardAuth:
    """Checks the dashboard token, issues and verifies session cookies and CSRF tokens."""

    token: str | None
    secure_cookie: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> DashboardAuth:
        """Use the configured token; make one up in development; none (dashboard off) in production."""
        token = secret(settings.dashboard_token)
        if not token and settings.mode == "development":
            token = secrets.token_urlsafe(24)
            login = f"{settings.public_url.rstrip('/')}/login?token={quote(token)}"
            log.warning("no TRIAGEBOT_DASHBOARD_TOKEN set; for this run the dashboard login is %s", login)
        elif not token:
            log.error("the dashboard is off: set TRIAGEBOT_DASHBOARD_TOKEN to serve it in production")
        return cls(token=token or None, secure_cookie=settings.public_url.startswith("https://"))

    @property
    def enabled(self) -> bool:
        """Say whether the dashboard may be served at all."""
        return self.token is not None

    def _sign(self, purpose: str, value: str) -> str:
        assert self.token is not None
        key = hashlib.sha256(b"triagebot-dashboard:" + self.token.encode()).digest()
        return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def token_matches(self, offered: str | None) -> bool:
        """Compare an offered token with ours in constant time."""
        if not (self.token and offered):
            return False
        return hmac.compare_digest(offered.encode(), self.token.encode())

    def new_session(self, now: float | None = None) -> str:
        """Return a cookie value valid for SESSION_SECONDS: expiry, nonce and their signature."""
        expires = int((now or time.time()) + SESSION_SECONDS)
        body = f"{expires}.{secrets.token_hex(8)}"
        return f"{body}.{self._sign('session', body)}"

    def session_valid(self, value: str | None, now: float | None = None) -> bool:
        """Check a cookie's signature and expiry."""
        if not (self.token and value) or value.count(".") != 2:
            return False
        body, signature = value.rsplit(".", 1)
        if not hmac.compare_digest(signature, self._sign("session", body)):
            return False
        expires = body.split(".", 1)[0]
        return expires.isdigit() and int(expires) > (now or time.time())

    def signed_in(self, request: Request) -> bool:
        """Say whether a request carries a valid session cookie or the token as a Bearer header."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer ") and self.token_matches(header[7:].strip()):
            return True
        return self.session_valid(request.cookies.get(COOKIE))

    def require(self, request: Request) -> None:
        """Let signed-in requests through; send browsers to the login form; 401 for anything else."""
        if not self.enabled:
            raise HTTPException(503, "the dashboard is off: set TRIAGEBOT_DASHBOARD_TOKEN")
        if self.signed_in(request):
            return
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
            raise HTTPException(303, headers={"Location": f"/login?next={target}"})
        raise HTTPException(401, "sign in to the dashboard", headers={"WWW-Authenticate": "Bearer"})

    def csrf_token(self, request: Request) -> str:
        """Return the CSRF token for this session's forms (empty for Bearer clients, who need none)."""
        session = request.cookies.get(COOKIE)
        return self._sign("csrf", session)[:32] if self.token and session else ""

    def csrf_valid(self, request: Request, offered: str | None) -> bool:
        """Accept a form's CSRF token, or a Bearer request (no cookie, so nothing to forge)."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer ") and self.token_matches(header[7:].strip()):
            return True
        expected = self.csrf_token(request)
        return bool(expected and offered) and hmac.compare_digest(expected, offered or "")


# One DashboardAuth per service, kept only as long as the service itself.
_AUTHS: weakref.WeakKeyDictionary[Services, DashboardAuth] = weakref.WeakKeyDictionary()


def dashboard_auth(services: Services) -> DashboardAuth:
    """Return this service's one DashboardAuth (a made-up development token must be the same everywhere)."""
    auth = _AUTHS.get(services)
    if auth is None:
        auth = _AUTHS[services] = DashboardAuth.from_settings(services.settings)
    return auth
