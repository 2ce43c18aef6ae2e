"""`POST /webhooks/sentry` (signed integration-platform webhooks) and the legacy-plugin URL."""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from triagebot.bootstrap import Services
from triagebot.errors import MalformedPayload, UnsupportedEvent
from triagebot.integrations.sentry.webhooks import IssueReport, parse_legacy, parse_webhook
from triagebot.settings import secret
from triagebot.triage import inbox, service
from triagebot.triage.inbox import Arrival
from triagebot.web.body import parse_json, read_capped
from triagebot.web.group_commit import GroupCommit
from triagebot.web.signatures import sentry_valid

log = logging.getLogger(__name__)


def router(services: Services) -> APIRouter:
    """Build the Sentry webhook routes."""
    api = APIRouter()
    settings = services.settings
    writer: GroupCommit[Arrival, bool] = GroupCommit(lambda batch: inbox.store(services.sessions, batch))

    async def accept(report: IssueReport, resource: str, body: bytes) -> JSONResponse:
        """Store the delivery (sharing a commit with concurrent ones) and answer; the inbox applies it."""
        arrival = Arrival(service.delivery_key(report, body), resource, report.action, report.issue_id, body)
        services.inbox.arriving(writer.waiting)
        try:
            fresh = await writer.submit(arrival)
        except SQLAlchemyError as exc:
            log.error("sentry %s issue=%s not stored: %s", report.key, report.issue_id, exc)
            problem = f"could not store the webhook ({type(exc).__name__}); try again"
            raise HTTPException(503, problem) from None
        services.inbox.kick()
        outcome = "queued" if fresh else "duplicate"
        services.metrics.webhook("sentry", outcome)
        return JSONResponse({"ok": True, "issue": report.issue_id, "outcome": outcome}, status_code=202)

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
        return await accept(report, resource, body)

    # A plain Starlette route: this endpoint takes no parameters, so FastAPI's dependency solving
    # would only add cost on the path that receives storms.
    api.add_route("/webhooks/sentry", sentry_webhook, methods=["POST"], include_in_schema=False)

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
        return await accept(report, inbox.LEGACY, body)

    return api
