"""Credentials for the REST API: a personal access token, or a GitHub App's installation tokens."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import httpx
import jwt
from pydantic import BaseModel, ConfigDict, ValidationError

from triagebot.errors import PermanentFailure, RetryLater
from triagebot.integrations.github.errors import raise_for

JWT_LIFETIME = 540  # GitHub accepts at most 10 minutes; stay under it whatever the clock skew
CLOCK_DRIFT = 60  # `iat` a minute in the past, as GitHub recommends, so a fast clock is not "in the future"
REFRESH_EARLY = 300  # installation tokens last an hour; renew five minutes before they expire


class Auth(Protocol):
    """Gives the bearer token to use for a repository."""

    def token(self, http: httpx.Client, repo: str | None) -> str:
        """Return a token valid for calls on `repo` (None: calls outside a repository)."""
        ...


@dataclass(frozen=True)
class TokenAuth:
    """A personal access token (fine-grained or classic): same token for every call."""

    value: str

    def token(self, http: httpx.Client, repo: str | None) -> str:
        """Return the token."""
        del http, repo
        return self.value


class _AccessToken(BaseModel):
    model_config = ConfigDict(extra="ignore")
    token: str  # not length-checked: stateless `ghs_<app>_<jwt>` tokens are much longer than 40 chars
    expires_at: datetime


class _Installation(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: int


@dataclass
class AppAuth:
    """A GitHub App: a JWT signed with the app's private key, exchanged for cached installation tokens."""

    app_id: str
    private_key: str
    installation_id: str | None = None  # None: look it up per repository with the JWT
    clock: object = time.time
    _tokens: dict[str, tuple[str, float]] = field(default_factory=dict, init=False)
    _installations: dict[str, str] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _now(self) -> float:
        return float(self.clock())  # type: ignore[operator]

    def app_jwt(self) -> str:
        """Sign the short-lived RS256 JWT that authenticates as the app itself."""
        now = int(self._now())
        claims = {"iat": now - CLOCK_DRIFT, "exp": now + JWT_LIFETIME, "iss": self.app_id}
        return jwt.encode(claims, self.private_key, algorithm="RS256")

    def token(self, http: httpx.Client, repo: str | None) -> str:
        """Return the installation token, exchanging a fresh JWT when none is cached or it nears expiry."""
        with self._lock:
            installation = self._installation_for(http, repo)
            cached = self._tokens.get(installation)
            if cached and cached[1] - REFRESH_EARLY > self._now():
                return cached[0]
            response = self._call(http, "POST", f"app/installations/{installation}/access_tokens")
            try:
                answer = _AccessToken.model_validate(response.json())
            except (ValueError, ValidationError) as exc:
                raise PermanentFailure(f"GitHub installation token answer unreadable: {exc}") from None
            self._tokens[installation] = (answer.token, answer.expires_at.timestamp())
            return answer.token

    def _installation_for(self, http: httpx.Client, repo: str | None) -> str:
        if self.installation_id:
            return self.installation_id
        if repo is None:
            raise PermanentFailure(
                "GitHub App: no installation id configured and no repository to look it up"
            )
        if repo not in self._installations:
            response = self._call(http, "GET", f"repos/{repo}/installation")
            try:
                self._installations[repo] = str(_Installation.model_validate(response.json()).id)
            except (ValueError, ValidationError) as exc:
                raise PermanentFailure(f"GitHub installation answer unreadable: {exc}") from None
        return self._installations[repo]

    def _call(self, http: httpx.Client, method: str, path: str) -> httpx.Response:
        try:
            response = http.request(method, path, headers={"Authorization": f"Bearer {self.app_jwt()}"})
        except httpx.HTTPError as exc:
            raise RetryLater(f"GitHub {method} /{path}: {exc}") from None
        raise_for(response, f"{method} /{path}")
        return response
