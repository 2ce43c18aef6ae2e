"""`GET /healthz`: liveness and database reachability."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import text

from triagebot.bootstrap import Services


def router(services: Services) -> APIRouter:
    """Build the health route."""
    api = APIRouter()

    def _check() -> JSONResponse:
        try:
            with services.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the database makes us unhealthy
            return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @api.get("/healthz")
    async def healthz() -> JSONResponse:
        return await run_in_threadpool(_check)

    return api
