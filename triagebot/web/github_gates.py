"""GitHub events that start or inform gates: `deployment_status` (a preview is ready) and `pull_request`.

GitHub's `deployment_status` names a commit, not a pull request: the PR is found from the heads that
`pull_request` events recorded. Its URL is `environment_url` when the deployer set one (Vercel, Fly,
Actions environments), else `target_url` (older integrations); a status with neither cannot be gated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from triagebot.db import transaction
from triagebot.errors import MalformedPayload, RefusedHost, UnsupportedEvent
from triagebot.gates import service
from triagebot.integrations.github.webhooks import GitHubEvent, parse_pull_request

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

log = logging.getLogger(__name__)

GATED_PR_ACTIONS = ("opened", "synchronize", "reopened")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Status(_Model):
    state: str
    environment_url: str | None = None
    target_url: str | None = None
    environment: str | None = None


class _Deployment(_Model):
    sha: str
    ref: str | None = None
    environment: str | None = None


class _DeploymentStatusPayload(_Model):
    deployment_status: _Status
    deployment: _Deployment


@dataclass(frozen=True)
class PreviewReady:
    """A successful deployment of a commit, and the URL it answers on."""

    repo: str
    sha: str
    url: str
    environment: str | None


def parse_deployment_status(event: GitHubEvent) -> PreviewReady:
    """Read a `deployment_status` event; UnsupportedEvent unless it is a success with a URL."""
    try:
        payload = _DeploymentStatusPayload.model_validate(event.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise MalformedPayload(f"deployment_status payload: {where}: {first['msg']}") from None
    if event.repo is None:
        raise MalformedPayload("deployment_status payload: repository.full_name: missing")
    status = payload.deployment_status
    if status.state != "success":
        raise UnsupportedEvent(f"deployment state {status.state!r}: only success starts a gate")
    url = (status.environment_url or "").strip() or (status.target_url or "").strip()
    if not url:
        raise UnsupportedEvent("deployment_status has neither environment_url nor target_url")
    return PreviewReady(
        repo=event.repo,
        sha=payload.deployment.sha,
        url=url,
        environment=status.environment or payload.deployment.environment,
    )


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
