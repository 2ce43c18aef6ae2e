"""What the runner needs from a browser, in gate words; `triagebot.integrations.browser` implements it.

Every URL the runner hands over is absolute and already checked to be on the preview's origin; the
adapter additionally refuses, at the network layer, any request that leaves that origin.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from triagebot.drafts.spec import Locator


class BrowserActionError(Exception):
    """A browser action failed (element not found, navigation refused, timeout); the message says how."""


class BrowserUnavailable(Exception):
    """No browser could be started (none installed, or it crashed on launch)."""


@dataclass(frozen=True)
class PageErrorSeen:
    """An uncaught exception thrown in the page, stamped with the step that was running."""

    name: str
    message: str
    step: int | None


@dataclass(frozen=True)
class ResponseSeen:
    """A response (or a request that got none) worth keeping as evidence."""

    method: str
    url: str
    status: int | None
    error: str | None = None
    step: int | None = None


@dataclass
class Observations:
    """What the adapter saw while a spec ran; `step` is set by the runner before each step."""

    step: int | None = None
    page_errors: list[PageErrorSeen] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    server_errors: list[ResponseSeen] = field(default_factory=list)  # 5xx from the preview origin
    request_failures: list[ResponseSeen] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)  # refused: not the preview origin
    left_origin: list[str] = field(default_factory=list)  # top-level navigations off the origin


@dataclass(frozen=True)
class FetchResult:
    """The answer to a direct HTTP request (redirects are never followed)."""

    status: int
    text: str


@dataclass(frozen=True)
class PageState:
    """What a context carries before its first page, all for the preview's origin only.

    `storage_state` is a signed-in session (Playwright's storage-state shape); `headers` go with every
    request to the origin; `local_storage` entries are written before the page's own scripts run.
    """

    cookies: tuple[tuple[str, str], ...] = ()
    local_storage: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = field(default=(), repr=False)  # may hold secrets
    storage_state: dict[str, Any] | None = field(default=None, repr=False)


class BrowserPage(Protocol):
    """One spec's isolated browser context and its page."""

    observations: Observations

    async def goto(self, url: str) -> None: ...

    async def click(self, locator: Locator) -> None: ...

    async def fill(self, locator: Locator, value: str) -> None: ...

    async def press(self, locator: Locator, key: str) -> None: ...

    async def select_option(self, locator: Locator, value: str | None) -> str:
        """Choose the option with `value`, or the first non-empty one; return the value chosen."""
        ...

    async def check(self, locator: Locator, checked: bool) -> None: ...

    async def wait_for_url(self, matches: Callable[[str], bool]) -> None: ...

    async def fetch(
        self, method: str, url: str, headers: dict[str, str], body: str | None
    ) -> FetchResult: ...

    async def settle(self, *, quiet_ms: int, timeout_ms: int) -> None:
        """Return once the page's work for the last step is done and it has been quiet `quiet_ms`."""

    async def body_text(self) -> str: ...

    async def current_url(self) -> str: ...

    async def save_evidence(self, screenshot: Path, trace: Path) -> tuple[Path | None, Path | None]: ...

    async def storage_state(self) -> dict[str, Any]:
        """Return the context's cookies and local storage, to start other contexts signed in."""
        ...


class Browser(Protocol):
    """One running browser; each spec attempt gets a fresh context from it."""

    def page(
        self, *, origin: str, step_timeout_ms: int, trace: bool, state: PageState | None = None
    ) -> AbstractAsyncContextManager[BrowserPage]: ...

    async def probe(self, origin: str, timeout_ms: int) -> str | None:
        """Say why the preview cannot be reached (refused, no such host, TLS, timeout), or None."""
        ...


class BrowserLauncher(Protocol):
    """Starts the one browser a gate run shares, able to reach `origin` and nothing else."""

    def launch(self, *, origin: str) -> AbstractAsyncContextManager[Browser]: ...
