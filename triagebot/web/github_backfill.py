"""GitHub webhook handlers of the backfill flow: a triagebot PR merged, closed or reopened, and
successful deployments of the default branch (drafts are verified against the newest one).

`HANDLERS` maps `event.action` to handlers; web/github.py merges it with the gate flow's table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from triagebot.backfill import service
from triagebot.db import transaction
from triagebot.integrations.github.webhooks import GitHubEvent, parse_deployment_status, parse_pull_request
from triagebot.verify.where import record_default_preview

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


def on_deployment_status(services: Services, event: GitHubEvent) -> str:
    """Remember a successful deployment of the repository's default branch as where to verify drafts."""
    preview = parse_deployment_status(event)
    if not preview.of_default_branch:
        return "not a deployment of the default branch"
    with transaction(services.sessions) as session:
        kept = record_default_preview(session, repo=preview.repo, url=preview.url, sha=preview.sha)
    return "default-branch preview recorded" if kept else "not an http(s) URL"


HANDLERS: dict[str, list[Callable[[Services, GitHubEvent], Any]]] = {
    "pull_request.closed": [on_pull_request],
    "pull_request.reopened": [on_pull_request],
    "deployment_status.created": [on_deployment_status],
}
