"""The baselines for bench.intake: a bare endpoint, and the least durable endpoint with intake's promise.

`app` reads the body and answers 202. `durable` checks the Sentry signature, parses the JSON and
commits one row before it answers: to SQLite (WAL, synchronous=NORMAL, as triagebot's store) or, when
`BENCH_DURABLE_URL` is a PostgreSQL URL, one committed `INSERT` on PostgreSQL. It is written the
plain FastAPI way for blocking I/O (the write runs on the thread pool), with one database connection
per thread; on SQLite the threads take turns on a lock, as SQLite has a single writer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import threading
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

app = FastAPI()


@app.post("/webhooks/sentry")
async def bare(request: Request) -> JSONResponse:
    """Read the body, answer like triagebot does, do nothing else."""
    await request.body()
    return JSONResponse({"ok": True}, status_code=202)


@app.get("/healthz")
async def bare_health() -> JSONResponse:
    """Answer the bench's start-up probe."""
    return JSONResponse({"status": "ok"})


durable = FastAPI()
_URL = os.environ.get("BENCH_DURABLE_URL", "")
_SECRET = os.environ.get("TRIAGEBOT_SENTRY_CLIENT_SECRET", "").encode()
_local = threading.local()
# SQLite has one writer: threads queue on a lock rather than in SQLite's busy handler, whose sleeps
# would make this baseline slower than a careful minimal endpoint is.
_writer = threading.Lock()
_SCHEMA = "CREATE TABLE IF NOT EXISTS bench_deliveries (id {pk}, event_id TEXT NOT NULL, body TEXT NOT NULL)"


def _connect() -> Any:
    """Open this thread's connection."""
    if _URL.startswith("postgresql"):
        import psycopg

        return psycopg.connect(_URL, autocommit=True)  # one INSERT is its own committed transaction
    conn = sqlite3.connect(_URL.removeprefix("sqlite:///"), isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def create_table(url: str) -> None:
    """Create the baseline's table, before its server starts (its threads and workers would race)."""
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(_SCHEMA.format(pk="BIGSERIAL PRIMARY KEY"))
        return
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        conn.execute(_SCHEMA.format(pk="INTEGER PRIMARY KEY"))


@durable.post("/webhooks/sentry")
async def durable_intake(request: Request) -> JSONResponse:
    """Check the HMAC, parse the JSON, commit one row on a worker thread, then answer 202."""
    body = await request.body()
    expected = hmac.digest(_SECRET, body, hashlib.sha256).hex()
    if not hmac.compare_digest(expected, request.headers.get("sentry-hook-signature", "")):
        raise HTTPException(401, "bad signature")
    payload = json.loads(body)
    await run_in_threadpool(_store, str(payload["data"]["error"]["event_id"]), body.decode())
    return JSONResponse({"ok": True}, status_code=202)


def _store(event_id: str, body: str) -> None:
    """Commit one row in this thread's connection."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = _connect()
    if _URL.startswith("postgresql"):
        conn.execute("INSERT INTO bench_deliveries (event_id, body) VALUES (%s, %s)", (event_id, body))
    else:
        with _writer:
            conn.execute("INSERT INTO bench_deliveries (event_id, body) VALUES (?, ?)", (event_id, body))


@durable.get("/healthz")
async def durable_health() -> JSONResponse:
    """Answer the bench's start-up probe."""
    return JSONResponse({"status": "ok"})
