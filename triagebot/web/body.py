"""Reading request bodies with a size cap, and JSON errors that name the problem."""

from __future__ import annotations

import json
from typing import Any

from fastapi import HTTPException, Request

from triagebot import fast_json
from triagebot.integrations.sentry.event import clean_json, json_surrogate_free


async def read_capped(request: Request, limit: int) -> bytes:
    """Read the raw body, answering 413 as soon as it exceeds `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes exceeds the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"body exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(body: bytes) -> Any:
    """Parse JSON or answer 400 saying where it broke; lone surrogates come back as U+FFFD.

    JSON may spell a lone surrogate (`"\\ud800"`) that no UTF-8 store can hold, so a hostile sender
    could otherwise make every later write of that text fail. Clean bodies skip the walk.
    """
    try:
        value = fast_json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HTTPException(400, f"body is not valid JSON: {exc}") from None
    return value if json_surrogate_free(body) else clean_json(value)
