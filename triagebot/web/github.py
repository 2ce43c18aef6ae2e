"""`POST /webhooks/github`: verify, de-duplicate on X-GitHub-Delivery, route `event.action` to handlers.

Each flow's handlers sit beside this route (`github_backfill`, `github_gates`), each listing them in a
module-level `HANDLERS` dict, e.g. `{"pull_request.closed": [on_pull_request]}`, where a handler is
`(services, event: GitHubEvent) -> outcome` (anything JSON-able) that opens its own short
transactions. Several flows may handle one key, in the order of HANDLER_TABLES. A handler
raising UnsupportedEvent (or any other BadInput) is answered "ignored", MalformedPayload 400.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import delete, update
from sqlmodel import col

from triagebot.db import transaction
from triagebot.errors import BadInput, MalformedPayload
from triagebot.integrations.github.webhooks import GitHubEvent
from triagebot.settings import secret
from triagebot.triage import service
from triagebot.triage.models import Delivery
from triagebot.web import github_backfill, github_gates
from triagebot.web.body import parse_json, read_capped
from triagebot.web.signatures import github_valid

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

log = logging.getLogger(__name__)

Handler = Callable[["Services", GitHubEvent], Any]
HANDLER_TABLES: tuple[Mapping[str, Sequence[Handler]], ...] = (
    github_backfill.HANDLERS,
    github_gates.HANDLERS,
)


def load_handlers(
    tables: tuple[Mapping[str, Sequence[Handler]], ...] = HANDLER_TABLES,
) -> dict[str, list[Handler]]:
    """Merge the flows' `HANDLERS` tables, keeping each key's handlers in table order."""
    merged: dict[str, list[Handler]] = {}
    for table in tables:
        for key, handlers in table.items():
            merged.setdefault(key, []).extend(handlers)
    return merged


def router(services: Services) -> APIRouter:
    """Build the GitHub webhook route."""
    api = APIRouter()
    settings = services.settings
    handlers = load_handlers()

    @api.post("/webhooks/github", status_code=202)
    async def github_webhook(request: Request) -> JSONResponse:
        body = await read_capped(request, settings.max_body_bytes)
        webhook_secret = secret(settings.github_webhook_secret)
        if webhook_secret is None:
            raise HTTPException(503, "TRIAGEBOT_GITHUB_WEBHOOK_SECRET is not set; refusing unsigned webhooks")
        if not github_valid(webhook_secret, body, request.headers.get("x-hub-signature-256")):
            services.metrics.webhook("github", "bad_signature")
            raise HTTPException(401, "X-Hub-Signature-256 is missing or does not match the body")
        name = request.headers.get("x-github-event")
        delivery = request.headers.get("x-github-delivery")
        if not name or not delivery:
            raise HTTPException(400, "X-GitHub-Event and X-GitHub-Delivery headers are required")
        payload = parse_json(body)
        if not isinstance(payload, dict):
            raise HTTPException(400, "body is not a JSON object")
        event = GitHubEvent(name=name, delivery=delivery, payload=payload)
        if name == "ping":
            return JSONResponse({"ok": True, "event": "ping"}, status_code=200)
        chosen = handlers.get(event.key)
        if not chosen:
            log.info("github %s (delivery %s) not handled", event.key, delivery)
            services.metrics.webhook("github", "ignored")
            return JSONResponse({"ok": True, "ignored": event.key}, status_code=202)
        if event.repo is not None and event.repo.lower() not in served_repos(services):
            # A GitHub App installed on many repositories sends all of their events; only the
            # configured ones are ours, so the rest are acknowledged (no retry) and left alone.
            log.info(
                "github %s (delivery %s) from %s ignored: not a repository this service serves "
                "(TRIAGEBOT_GITHUB_REPO, TRIAGEBOT_ROUTES)",
                event.key,
                delivery,
                event.repo[:200],
            )
            services.metrics.webhook("github", "ignored")
            return JSONResponse(
                {"ok": True, "ignored": event.key, "reason": "repository not served"}, status_code=202
            )
        return await run_in_threadpool(_accept, services, event, body, chosen)

    return api


def served_repos(services: Services) -> set[str]:
    """Return the repositories (`owner/name`, lower case) whose events this service acts on."""
    settings = services.settings
    names = {settings.github_repo} | {route.repo for route in settings.routes.values()}
    local = getattr(services.code_host, "name", None) if settings.local_repo_path is not None else None
    return {name.lower() for name in (*names, local) if isinstance(name, str) and name}


def _accept(services: Services, event: GitHubEvent, body: bytes, chosen: list[Handler]) -> JSONResponse:
    """Record the delivery, then run its handlers; a redelivery of a handled event changes nothing."""
    with transaction(services.sessions) as session:
        # Redeliveries reuse the X-GitHub-Delivery GUID (it names the event, not the attempt).
        fresh = service.record_delivery(
            session, source="github", key=event.delivery, resource=event.name, action=event.action, body=body
        )
    if not fresh:
        services.metrics.webhook("github", "duplicate")
        return JSONResponse({"ok": True, "event": event.key, "outcome": "duplicate"}, status_code=200)
    outcomes: list[Any] = []
    try:
        for handler in chosen:
            try:
                outcomes.append(handler(services, event))
            except MalformedPayload:
                raise
            except BadInput as exc:
                # Known but unusable, e.g. a deployment whose environment_url is not a URL: said, not retried.
                log.info("github %s delivery=%s ignored: %s", event.key, event.delivery, exc)
                outcomes.append(f"ignored: {exc}")
    except MalformedPayload as exc:
        _set_outcome(services, event, "malformed")
        services.metrics.webhook("github", "malformed")
        raise HTTPException(400, str(exc)) from None
    except Exception:
        # Forget the delivery so that redelivering it from GitHub's settings page acts again.
        _forget(services, event)
        raise
    services.metrics.webhook("github", "accepted")
    log.info("github %s delivery=%s -> %s", event.key, event.delivery, outcomes)
    outcome: Any = outcomes[0] if len(outcomes) == 1 else outcomes
    return JSONResponse({"ok": True, "event": event.key, "outcome": outcome}, status_code=202)


def _set_outcome(services: Services, event: GitHubEvent, outcome: str) -> None:
    with transaction(services.sessions) as session:
        session.execute(
            update(Delivery)
            .where(col(Delivery.source) == "github", col(Delivery.key) == event.delivery[:200])
            .values(outcome=outcome)
        )


def _forget(services: Services, event: GitHubEvent) -> None:
    with transaction(services.sessions) as session:
        session.execute(
            delete(Delivery).where(
                col(Delivery.source) == "github", col(Delivery.key) == event.delivery[:200]
            )
        )
