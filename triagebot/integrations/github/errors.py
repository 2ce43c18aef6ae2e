"""Mapping GitHub's HTTP answers onto the outbox's RetryLater / PermanentFailure."""

from __future__ import annotations

import time

import httpx

from triagebot.errors import PermanentFailure, RetryLater

SECONDARY_LIMIT_WAIT = 60.0  # GitHub's advice when a rate limit names no time: wait at least a minute


def message_of(response: httpx.Response) -> str:
    """Return GitHub's own explanation from an error body (`message` plus any `errors[].message`)."""
    try:
        data = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if not isinstance(data, dict):
        return str(data)[:300]
    message = str(data.get("message") or response.reason_phrase)
    details = [
        str(item.get("message") or item.get("code"))
        for item in data.get("errors") or []
        if isinstance(item, dict) and (item.get("message") or item.get("code"))
    ]
    return f"{message} ({'; '.join(details)})" if details else message


def rate_limit_wait(response: httpx.Response, now: float | None = None) -> float | None:
    """Return how long a 403/429 asks us to wait, or None when the 403 is not a rate limit.

    GitHub's order of precedence: `retry-after` first; else `x-ratelimit-remaining: 0` means wait
    until `x-ratelimit-reset` (epoch seconds); else a secondary limit names itself only in the message.
    """
    headers = response.headers
    retry_after = headers.get("retry-after")
    if retry_after and retry_after.strip().isdigit():
        return float(retry_after)
    if headers.get("x-ratelimit-remaining") == "0":
        reset = headers.get("x-ratelimit-reset", "")
        if reset.isdigit():
            return max(1.0, float(reset) - (time.time() if now is None else now))
        return SECONDARY_LIMIT_WAIT
    if response.status_code == 429 or "rate limit" in message_of(response).lower():
        return SECONDARY_LIMIT_WAIT
    return None


def raise_for(response: httpx.Response, what: str) -> None:
    """Raise the outbox's error for a failed answer; return quietly for a 2xx/3xx."""
    status = response.status_code
    if status < 400:
        return
    if status in (403, 429):
        wait = rate_limit_wait(response)
        if wait is not None:
            raise RetryLater(f"GitHub {what}: rate limited ({status})", after=wait)
    if status >= 500:
        raise RetryLater(f"GitHub {what}: {status} {message_of(response)}")
    raise PermanentFailure(f"GitHub {what}: {status} {message_of(response)}")
