"""The small interfaces the domain needs from the outside world, in the domain's words.

Chat, code host and Sentry for the flows; the browser for the gate (implemented by
`triagebot.integrations.browser`).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from triagebot.spec import Locator


@dataclass(frozen=True)
class Posted:
    """Where a chat message landed."""

    channel: str
    ts: str


class Chat(Protocol):
    """Posting and editing thread messages (Slack, or the local stand-in)."""

    def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> Posted:
        """Post a message (a thread reply when `thread_ts` is given)."""
        ...

    def update(self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace a message's content."""
        ...

    def post_ephemeral(
        self, *, channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Show a message to one user only."""
        ...

    def open_view(self, *, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal in answer to an interaction."""
        ...

    def user_email(self, user_id: str) -> str | None:
        """Return a chat user's email address, or None when it is unknown or hidden."""
        ...


class SentryApi(Protocol):
    """The parts of Sentry's web API triagebot uses."""

    def latest_event(self, issue_id: str) -> dict[str, Any]:
        """Return the newest event of an issue, in the API's (camelCase, `entries[]`) shape."""
        ...

    def list_issues(self, *, query: str, stats_period: str, max_pages: int = 5) -> list[dict[str, Any]]:
        """Return issues matching a search, following pagination up to `max_pages`."""
        ...

    def update_issue(self, issue_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change an issue's status or assignee; return the updated issue."""
        ...


@dataclass(frozen=True)
class RepoHead:
    """A repository's default branch and the commit it points at."""

    branch: str
    sha: str


@dataclass(frozen=True)
class PullRequest:
    """A pull request as the code host reports it."""

    number: int
    url: str
    state: str  # open | closed
    merged: bool
    branch: str
    head_sha: str | None = None


class CodeHost(Protocol):
    """Where regression tests are proposed and gates report: GitHub, or a local git repository."""

    def default_head(self, repo: str) -> RepoHead:
        """Return the default branch and its head commit."""
        ...

    def branch_sha(self, repo: str, branch: str) -> str | None:
        """Return a branch's head commit, or None when the branch does not exist."""
        ...

    def create_branch(
        self, repo: str, *, branch: str, base_sha: str, files: dict[str, str], message: str
    ) -> str:
        """Create `branch` holding one commit on top of `base_sha` that adds `files`; return its sha.

        When the branch already exists (an earlier try, a concurrent one), return its head instead.
        """
        ...

    def find_pull(self, repo: str, branch: str) -> PullRequest | None:
        """Return the newest pull request from `branch`, open or closed."""
        ...

    def open_pull(self, repo: str, *, branch: str, base: str, title: str, body: str) -> PullRequest:
        """Open a pull request, or return the one already open for `branch`."""
        ...

    def update_pull(self, repo: str, number: int, *, title: str, body: str) -> PullRequest:
        """Replace a pull request's title and description."""
        ...

    def get_pull(self, repo: str, number: int) -> PullRequest:
        """Return a pull request's current state."""
        ...

    def list_pull_files(self, repo: str, number: int) -> list[str]:
        """Return the paths a pull request changes (for choosing which specs to run)."""
        ...

    def read_file(self, repo: str, path: str, ref: str) -> str | None:
        """Return a text file's content at `ref`, or None when it does not exist."""
        ...

    def list_dir(self, repo: str, path: str, ref: str) -> list[str]:
        """Return the repo-relative paths of the files directly inside a folder at `ref` (empty if none)."""
        ...

    def create_status(
        self,
        repo: str,
        sha: str,
        *,
        state: str,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> None:
        """Set a commit status (state: error | failure | pending | success)."""
        ...

    def create_check_run(
        self,
        repo: str,
        *,
        head_sha: str,
        name: str,
        status: str,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        details_url: str | None = None,
        external_id: str | None = None,
    ) -> int:
        """Create a check run (needs a GitHub App); return its id."""
        ...

    def update_check_run(
        self,
        repo: str,
        check_run_id: int,
        *,
        status: str | None = None,
        conclusion: str | None = None,
        title: str | None = None,
        summary: str | None = None,
        text: str | None = None,
        details_url: str | None = None,
    ) -> None:
        """Change a check run's status, conclusion or output."""
        ...


# The browser, in gate words ------------------------------------------------------------------------


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
