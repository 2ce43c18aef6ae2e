"""The small interfaces the domain needs from the outside world, in the domain's words."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


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
