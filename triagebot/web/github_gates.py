"""GitHub events that start or inform gates: `deployment_status` (a preview is ready) and `pull_request`.

A `deployment_status` names a commit, not a pull request: the PR is found from the heads that
`pull_request` events recorded.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from triagebot.db import transaction
from triagebot.errors import MalformedPayload, RefusedHost, UnsupportedEvent
from triagebot.gates import service
from triagebot.integrations.github.webhooks import GitHubEvent, parse_deployment_status, parse_pull_request

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

log = logging.getLogger(__name__)

GATED_PR_ACTIONS = ("opened", "synchronize", "reopened")


def on_deployment_status(services: Services, event: GitHubEvent) -> dict[str, Any]:
    """Queue a gate for a preview that just deployed; a host not allowed is logged and ignored."""
    preview = parse_deployment_status(event)
    request = service.GateRequest(
        repo=preview.repo, sha=preview.sha, preview_url=preview.url, trigger="deployment_status"
    )
    try:
        with transaction(services.sessions) as session:
            gate, created = service.request_gate(session, settings=services.settings, request=request)
            gate_id = gate.id
    except RefusedHost as exc:
        # Production deploys and other hosts' previews land here too; only listed hosts are gated.
        raise UnsupportedEvent(str(exc)) from None
    services.outbox.kick()
    log.info("deployment_status %s@%s -> gate %s (%s)", preview.repo, preview.sha[:7], gate_id, created)
    return {"gate": gate_id, "created": created}


def on_pull_request(services: Services, event: GitHubEvent) -> dict[str, Any]:
    """Record a PR's head commit (superseding older gates) and queue listing its changed files."""
    if event.action not in GATED_PR_ACTIONS:
        raise UnsupportedEvent(f"pull_request.{event.action} does not concern gates")
    change = parse_pull_request(event)
    if not change.head_sha:
        raise MalformedPayload("pull_request payload: pull_request.head.sha: missing")
    title = event.payload.get("pull_request", {}).get("title")
    with transaction(services.sessions) as session:
        service.record_pull_request(
            session,
            repo=change.repo,
            pr=change.number,
            head_sha=change.head_sha,
            title=title if isinstance(title, str) else None,
        )
    services.outbox.kick()
    return {"pr": change.number, "head": change.head_sha}


# Read by triagebot.web.github: `event.action` -> handlers of the gate flow.
HANDLERS = {
    "deployment_status.created": [on_deployment_status],
    **{f"pull_request.{action}": [on_pull_request] for action in GATED_PR_ACTIONS},
}
