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
