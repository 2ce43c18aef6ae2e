"""`POST /api/flags/{key}` (bearer): a flag provider's webhook or a deploy script records a rollout change."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from triagebot.bootstrap import Services
from triagebot.db import reading, transaction
from triagebot.errors import BadInput
from triagebot.flags import service
from triagebot.flags.models import DEFAULT_ENVIRONMENT, FlagChange, FlagRollout
from triagebot.web.body import parse_json, read_capped
from triagebot.web.gates_api import parse_body, require_bearer


class FlagBody(BaseModel):
    """A rollout change: a new `percent`, or an `action` (rollback, pause, resume)."""

    model_config = ConfigDict(extra="ignore")

    percent: int | None = Field(default=None, ge=0, le=100)
    action: Literal["set", "rollback", "pause", "resume"] | None = None
    environment: str = Field(default=DEFAULT_ENVIRONMENT, min_length=1, max_length=200)
    actor: str = Field(min_length=1, max_length=200)
    reason: str | None = Field(default=None, max_length=2000)
    pr: int | None = Field(default=None, ge=1)
    gate_id: int | None = None
    force: str | None = Field(default=None, max_length=2000)  # override a refusal, saying why

    @model_validator(mode="after")
    def _percent_or_action(self) -> FlagBody:
        if self.percent is None and self.action in (None, "set"):
            raise ValueError("give percent (0-100) or action (rollback, pause, resume)")
        return self


def rollout_json(rollout: FlagRollout) -> dict[str, Any]:
    """Describe a rollout for API clients."""
    return {
        "key": rollout.key,
        "environment": rollout.environment,
        "percent": rollout.percent,
        "state": rollout.state,
        "since": rollout.stage_since.isoformat(),
        "updated_by": rollout.updated_by,
        "pr": rollout.pr,
        "gate_id": rollout.gate_id,
    }


def change_json(change: FlagChange) -> dict[str, Any]:
    """Describe one recorded change."""
    return {
        "id": change.id,
        "action": change.action,
        "from_percent": change.from_percent,
        "to_percent": change.to_percent,
        "actor": change.actor,
        "reason": change.reason,
        "override": change.override,
        "override_reason": change.override_reason,
        "at": change.at.isoformat(),
    }


def router(services: Services) -> APIRouter:
    """Build the flag API routes."""
    api = APIRouter()
    settings = services.settings

    @api.post("/api/flags/{key}")
    async def change(key: str, request: Request) -> JSONResponse:
        require_bearer(settings, request)
        body = parse_body(FlagBody, parse_json(await read_capped(request, settings.max_body_bytes)))
        return await run_in_threadpool(_change, services, key, body)

    @api.get("/api/flags")
    async def listing(request: Request) -> JSONResponse:
        require_bearer(settings, request)
        return await run_in_threadpool(_list, services)

    return api


def _change(services: Services, key: str, body: FlagBody) -> JSONResponse:
    request = service.FlagRequest(
        key=key,
        actor=body.actor,
        action=body.action or "set",
        percent=body.percent,
        environment=body.environment,
        reason=body.reason,
        pr=body.pr,
        gate_id=body.gate_id,
        force=body.force,
        source="api",
    )
    try:
        with transaction(services.sessions) as session:
            rollout, recorded = service.change_flag(session, request)
            answer = {"rollout": rollout_json(rollout), "change": change_json(recorded)}
    except service.FlagRefused as exc:
        return JSONResponse({"detail": str(exc), "reasons": exc.reasons}, status_code=409)
    except BadInput as exc:
        raise HTTPException(400, str(exc)) from None
    return JSONResponse(answer)


def _list(services: Services) -> JSONResponse:
    with reading(services.sessions) as session:
        return JSONResponse({"flags": [rollout_json(r) for r in service.list_rollouts(session)]})
