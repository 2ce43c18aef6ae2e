"""`POST /api/gates` (start a gate, bearer token), `GET /api/gates/{id}` and the gate's evidence files."""

from __future__ import annotations

import hmac
import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triagebot.bootstrap import Services
from triagebot.db import reading, transaction
from triagebot.errors import BadInput, RefusedHost
from triagebot.gates import service
from triagebot.gates.commit_report import evidence_url, gate_url
from triagebot.gates.tables import GateRun, GateSpecResult
from triagebot.settings import Settings, secret
from triagebot.web.auth import dashboard_auth
from triagebot.web.body import parse_json, read_capped

EVIDENCE_FILE = re.compile(r"^attempt-\d{1,2}-(screenshot\.png|trace\.zip)$")
SPEC_DIR_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


class GateBody(BaseModel):
    """The JSON a CI job or preview host posts to start a gate."""

    model_config = ConfigDict(extra="ignore")

    repo: str = Field(min_length=3, max_length=200)
    sha: str = Field(min_length=7, max_length=64)
    pr: int | None = None
    preview_url: str = Field(min_length=1, max_length=2048)
    changed_files: list[str] | None = None


def require_bearer(settings: Settings, request: Request) -> None:
    """Answer 401 unless the request carries `Authorization: Bearer <TRIAGEBOT_GATE_TOKEN>`."""
    expected = secret(settings.gate_token)
    if not expected:
        raise HTTPException(503, "TRIAGEBOT_GATE_TOKEN is not set; the gate API is disabled")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


def parse_body(model: type[BaseModel], data: Any) -> Any:
    """Validate a JSON body, answering 400 with the first bad field's name."""
    if not isinstance(data, dict):
        raise HTTPException(400, "body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise HTTPException(400, f"{where}: {first['msg']}") from None


def gate_json(settings: Settings, gate: GateRun, results: list[GateSpecResult]) -> dict[str, Any]:
    """Describe a gate and its per-spec results for API clients."""
    assert gate.id is not None
    gate_id = gate.id
    return {
        "id": gate_id,
        "url": gate_url(settings, gate_id),
        "repo": gate.repo,
        "sha": gate.sha,
        "pr": gate.pr,
        "preview_url": gate.preview_url,
        "trigger": gate.trigger,
        "state": gate.state,
        "error": gate.error,
        "superseded_by": gate.superseded_by,
        "selection": gate.selection_reason,
        "selected_specs": gate.selected_specs,
        "changed_files": gate.changed_files,
        "flags": gate.flags,
        "created_at": gate.created_at.isoformat(),
        "started_at": gate.started_at.isoformat() if gate.started_at else None,
        "finished_at": gate.finished_at.isoformat() if gate.finished_at else None,
        "summary": gate.summary,
        "results": [
            {
                "spec_id": r.spec_id,
                "issue_id": r.issue_id,
                "short_id": r.short_id,
                "outcome": r.outcome,
                "flaky": r.flaky,
                "duration_ms": r.duration_ms,
                "failing_step": r.failing_step,
                "message": r.message,
                "errors": r.errors,
                "screenshot": evidence_url(settings, gate_id, r.screenshot) if r.screenshot else None,
                "trace": evidence_url(settings, gate_id, r.trace) if r.trace else None,
            }
            for r in results
        ],
    }


def router(services: Services) -> APIRouter:
    """Build the gate API routes."""
    api = APIRouter()
    settings = services.settings

    @api.post("/api/gates", status_code=202)
    async def start_gate(request: Request) -> JSONResponse:
        require_bearer(settings, request)
        body = parse_body(GateBody, parse_json(await read_capped(request, settings.max_body_bytes)))
        return await run_in_threadpool(_start, services, body)

    @api.get("/api/gates/{gate_id}")
    async def show_gate(gate_id: int, request: Request) -> JSONResponse:
        require_bearer(settings, request)
        return await run_in_threadpool(_show, services, gate_id)

    @api.get("/gates/{gate_id}/evidence/{spec_id}/{name}")
    async def evidence(gate_id: int, spec_id: str, name: str, request: Request) -> FileResponse:
        # Screenshots show the preview's pages: the same sign-in as the dashboard guards them.
        dashboard_auth(services).require(request)
        if not SPEC_DIR_NAME.match(spec_id) or not EVIDENCE_FILE.match(name):
            raise HTTPException(404, "no such evidence file")
        path = await run_in_threadpool(_evidence_path, services, gate_id, spec_id, name)
        media = "image/png" if name.endswith(".png") else "application/zip"
        return FileResponse(path, media_type=media)

    return api


def _start(services: Services, body: GateBody) -> JSONResponse:
    request = service.GateRequest(
        repo=body.repo,
        sha=body.sha,
        pr=body.pr,
        preview_url=body.preview_url,
        trigger="api",
        changed_files=body.changed_files,
    )
    try:
        with transaction(services.sessions) as session:
            gate, created = service.request_gate(session, settings=services.settings, request=request)
            gate_id, state = gate.id, gate.state
    except RefusedHost as exc:
        raise HTTPException(422, f"preview_url: {exc}") from None
    except BadInput as exc:
        raise HTTPException(400, str(exc)) from None
    services.outbox.kick()
    assert gate_id is not None
    answer = {"id": gate_id, "state": state, "url": gate_url(services.settings, gate_id), "created": created}
    return JSONResponse(answer, status_code=202)


def _show(services: Services, gate_id: int) -> JSONResponse:
    with reading(services.sessions) as session:
        gate = service.get_gate(session, gate_id)
        if gate is None:
            raise HTTPException(404, f"no gate {gate_id}")
        results = service.results_of(session, gate_id)
        return JSONResponse(gate_json(services.settings, gate, results))


def _evidence_path(services: Services, gate_id: int, spec_id: str, name: str) -> str:
    with reading(services.sessions) as session:
        gate = service.get_gate(session, gate_id)
        run_id = gate.run_id if gate is not None else None
    if not run_id:
        raise HTTPException(404, "no such evidence file")
    # Every part is pattern-checked above, so the path cannot climb out of the evidence folder.
    path = services.settings.data_dir / "evidence" / run_id / spec_id / name
    if not path.is_file():
        raise HTTPException(404, "no such evidence file")
    return str(path)
