"""create_app(services): FastAPI routes, with the outbox worker and the scheduler in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from triagebot.bootstrap import Services
from triagebot.jobs.scheduler import Scheduler
from triagebot.web import dashboard, flags_api, gates_api, github, health, sentry, slack

log = logging.getLogger(__name__)


def create_app(services: Services) -> FastAPI:
    """Build the web app around already-built services."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        scheduler = Scheduler(services) if services.settings.scheduler_enabled else None
        if services.settings.worker_enabled:
            services.outbox.start()
        if scheduler is not None:
            scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()
            # Clicks acked just before a shutdown are still being stored: let them finish.
            services.listeners.wait_idle(timeout=10)
            services.outbox.stop()

    app = FastAPI(title="triagebot", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.services = services
    for module in (health, sentry, slack, github, gates_api, flags_api, dashboard):
        app.include_router(module.router(services))

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        # Rendering reads the outbox's depth from the database: off the event loop.
        body = await run_in_threadpool(services.metrics.render)
        return Response(body, media_type="text/plain; version=0.0.4")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        return JSONResponse({"detail": f"{where}: {first['msg']}"}, status_code=400)

    return app


def app_from_environment() -> FastAPI:
    """Build the app from the environment's settings (uvicorn's factory for `serve --workers N`)."""
    from triagebot.bootstrap import build_services
    from triagebot.observability import setup_logging, setup_sentry
    from triagebot.settings import Settings

    settings = Settings()
    setup_logging()
    setup_sentry(settings)
    return create_app(build_services(settings))
