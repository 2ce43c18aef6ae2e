"""`POST /webhooks/sentry` (signed integration-platform webhooks) and the legacy-plugin URL."""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from triagebot.bootstrap import Services
from triagebot.db import is_postgres, transaction, writing
from triagebot.errors import MalformedPayload, UnsupportedEvent
from triagebot.group_commit import AsyncGroupCommit, GroupCommit
from triagebot.integrations.sentry.webhooks import IssueReport, parse_legacy, parse_webhook
from triagebot.settings import secret
from triagebot.triage import service
from triagebot.triage.intake_store import PostgresIntake
from triagebot.web.body import parse_json, read_capped
from triagebot.web.signatures import sentry_valid

log = logging.getLogger(__name__)


def router(services: Services) -> APIRouter:
    """Build the Sentry webhook routes."""
    api = APIRouter()
    settings = services.settings
    # Concurrent webhooks share one commit (see group_commit): the event loop never blocks on the
    # database, and the store commits once per batch instead of once per webhook. On PostgreSQL the
    # batch runs on the loop itself through psycopg's asyncio driver; SQLite's driver blocks, so there
    # a writer thread commits.
    submit: Callable[[service.Webhook], Awaitable[str]]
    if is_postgres(services.engine):
        store = PostgresIntake(services.engine)
        submit = AsyncGroupCommit(functools.partial(_store_async, services, store)).submit
    else:
        submit = GroupCommit(
            functools.partial(_store_many, services),
            functools.partial(_store_one, services),
            name="sentry-intake",
        ).submit

    async def accept(report: IssueReport, body: bytes) -> JSONResponse:
        outcome = await submit(service.Webhook(report, body, _routing(services, report)))
        services.metrics.webhook("sentry", outcome)
        return JSONResponse({"ok": True, "issue": report.issue_id, "outcome": outcome}, status_code=202)

    @api.post("/webhooks/sentry", status_code=202)
    async def sentry_webhook(request: Request) -> JSONResponse:
        body = await read_capped(request, settings.max_body_bytes)
        client_secret = secret(settings.sentry_client_secret)
        if client_secret is None:
            raise HTTPException(503, "TRIAGEBOT_SENTRY_CLIENT_SECRET is not set; refusing unsigned webhooks")
        if not sentry_valid(client_secret, body, request.headers.get("sentry-hook-signature")):
            services.metrics.webhook("sentry", "bad_signature")
            raise HTTPException(401, "Sentry-Hook-Signature is missing or does not match the body")
        resource = request.headers.get("sentry-hook-resource")
        if not resource:
            raise HTTPException(400, "Sentry-Hook-Resource header is missing")
        payload = parse_json(body)
        try:
            report = parse_webhook(resource, payload)
        except UnsupportedEvent as exc:
            action = payload.get("action") if isinstance(payload, dict) else None
            log.info("sentry webhook %s.%s ignored: %s", resource, action, exc)
            services.metrics.webhook("sentry", "ignored")
            return JSONResponse({"ok": True, "ignored": f"{resource}.{action}"}, status_code=200)
        except MalformedPayload as exc:
            services.metrics.webhook("sentry", "malformed")
            raise HTTPException(400, str(exc)) from None
        return await accept(report, body)

    @api.post("/webhooks/sentry/legacy/{token}", status_code=202)
    async def sentry_legacy(token: str, request: Request) -> JSONResponse:
        # The legacy WebHooks plugin signs nothing, so the secret travels in the URL it is given.
        expected = secret(settings.sentry_legacy_token)
        if expected is None or not hmac.compare_digest(token, expected):
            raise HTTPException(401, "unknown legacy webhook token")
        body = await read_capped(request, settings.max_body_bytes)
        try:
            report = parse_legacy(parse_json(body))
        except MalformedPayload as exc:
            services.metrics.webhook("sentry", "malformed")
            raise HTTPException(400, str(exc)) from None
        return await accept(report, body)

    return api


def _routing(services: Services, report: IssueReport) -> service.Routing:
    """Where the report's issue gets its thread, and what we may ask Sentry about it."""
    route = services.settings.route_for(report.project_slug or report.project_id)
    return service.Routing(
        channel=route.channel or "",
        fetch_events=services.sentry is not None,
        sentry_web=services.sentry_web,
        own_app_id=services.settings.sentry_app_id,
    )


def _store_many(services: Services, webhooks: Sequence[service.Webhook]) -> list[str]:
    """Commit a batch of webhooks in one transaction; return each one's outcome."""
    with writing(services.engine) as conn:
        outcomes = service.record_webhooks(conn, webhooks)
    _committed(services, webhooks, outcomes)
    return outcomes


async def _store_async(
    services: Services, store: PostgresIntake, webhooks: Sequence[service.Webhook]
) -> list[str]:
    """Commit a batch of webhooks in one transaction on the event loop; return each one's outcome."""
    outcomes = await service.record_webhooks_async(store, webhooks)
    _committed(services, webhooks, outcomes)
    return outcomes


def _store_one(services: Services, webhook: service.Webhook) -> str:
    """Commit one webhook alone (when its batch failed, so a bad one fails by itself)."""
    with transaction(services.sessions) as session:
        outcome = service.record_webhook(session, webhook)
    _committed(services, [webhook], [outcome])
    return outcome


def _committed(services: Services, webhooks: Sequence[service.Webhook], outcomes: Sequence[str]) -> None:
    """Wake the outbox once for the whole batch, and log each webhook once it is stored."""
    services.outbox.kick()
    for webhook, outcome in zip(webhooks, outcomes, strict=True):
        log.info("sentry %s issue=%s -> %s", webhook.report.key, webhook.report.issue_id, outcome)
