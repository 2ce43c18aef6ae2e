"""GitHub webhook handlers of the backfill flow: a triagebot PR merged, closed or reopened.

`HANDLERS` maps `event.action` to handlers; web/github.py merges it with other flows' tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from triagebot.backfill import service
from triagebot.db import transaction
from triagebot.integrations.github.webhooks import GitHubEvent, parse_pull_request

if TYPE_CHECKING:
    from triagebot.bootstrap import Services


def on_pull_request(services: Services, event: GitHubEvent) -> str:
    """Apply a triagebot PR's merge, close or reopen to its regression test."""
    change = parse_pull_request(event)
    if not change.branch.startswith(service.BRANCH_PREFIX):
        return "not a triagebot branch"
    with transaction(services.sessions) as session:
        test = service.find_by_branch(session, change.repo, change.branch)
        if test is None:
            return "unknown triagebot branch"
        outcome = service.apply_pull_state(
            session, test, state=change.state, merged=change.merged, url=change.url
        )
    services.outbox.kick()
    return outcome


HANDLERS: dict[str, list[Callable[[Services, GitHubEvent], Any]]] = {
    "pull_request.closed": [on_pull_request],
    "pull_request.reopened": [on_pull_request],
}
