"""The baseline for bench.intake: a bare FastAPI endpoint that reads the body and answers 202."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/webhooks/sentry")
async def bare(request: Request) -> JSONResponse:
    """Read the body, answer like triagebot does, do nothing else."""
    await request.body()
    return JSONResponse({"ok": True}, status_code=202)
