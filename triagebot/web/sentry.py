"""`POST /webhooks/sentry` (signed integration-platform webhooks) and the legacy-plugin URL."""

from __future__ import annotations

import hmac
import logging

from anyio import CapacityLimiter, to_thread
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from triagebot.bootstrap import Services
from triagebot.db import transaction, writer_limit
from triagebot.errors import MalformedPayload, UnsupportedEvent
from triagebot.integrations.sentry.webhooks import IssueReport, parse_legacy, parse_webhook
from triagebot.settings import secret
from triagebot.triage import service
from triagebot.web.body import parse_json, read_capped
from triagebot.web.signatures import sentry_valid

log = logging.getLogger(__name__)


def router(services: Services) -> APIRouter:
    """Build the Sentry webhook routes."""
    api = APIRouter()
    settings = services.settings
    # Intake writes run on as many threads as the database can use; a crowd of threads queueing on
    # SQLite's single writer only adds switching. The limiter is made lazily, inside the event loop.
    limiter: list[CapacityLimiter] = []

    async def accept(report: IssueReport, body: bytes) -> JSONResponse:
        if not limiter:
            limiter.append(CapacityLimiter(writer_limit(services.engine)))
        return await to_thread.run_sync(_accept, services, report, body, limiter=limiter[0])

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


def _accept(services: Services, report: IssueReport, body: bytes) -> JSONResponse:
    """Store the delivery and the issue, queue the thread work, and answer before any Slack call."""
    route = services.settings.route_for(report.project_slug or report.project_id)
    routing = service.Routing(
        channel=route.channel or "",
        fetch_events=services.sentry is not None,
        sentry_web=services.sentry_web,
        own_app_id=services.settings.sentry_app_id,
    )
    key = service.delivery_key(report, body)
    with transaction(services.sessions) as session:
        fresh = service.record_delivery(
            session, source="sentry", key=key, resource=report.resource, action=report.action, body=body
        )
        outcome = service.record_report(session, report=report, routing=routing) if fresh else "duplicate"
    services.outbox.kick()
    services.metrics.webhook("sentry", outcome)
    log.info("sentry %s issue=%s -> %s", report.key, report.issue_id, outcome)
    return JSONResponse({"ok": True, "issue": report.issue_id, "outcome": outcome}, status_code=202)
