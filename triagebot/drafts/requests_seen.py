"""The requests an event's breadcrumbs saw (fetch, xhr, navigations), and the values they carried.

Sentry never records what a user typed or chose, but the request that followed often carries it in
its query string (`GET /api/search?q=mug` after typing into `input[name=q]`). Only values that look
neither personal nor secret are ever taken; everything else stays synthetic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from triagebot.integrations.sentry.event import Breadcrumb

REQUEST_CATEGORIES = ("fetch", "xhr", "navigation")
VALUE_MAX = 200
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{6,}$")
LONG_DIGITS = re.compile(r"[0-9]{6,}")
# Token-like: a long unbroken run of letters and digits (or base64/hex/JWT alphabets) with digits in it.
TOKEN = re.compile(r"^(?=.*[0-9])[A-Za-z0-9_+/=.-]{16,}$")
# Parameter names whose values are personal or secret whatever they look like.
SECRET_NAME = re.compile(
    r"mail|phone|mobile|tel|pass|secret|token|auth|session|cookie|key|ssn|card|cvc|cvv|iban|birth|dob",
    re.IGNORECASE,
)
FILTERED = ("[Filtered]", "[filtered]", "[redacted]", "[Redacted]")
# Parameters that page or sort results: never what a user typed or chose in a field.
PAGING = re.compile(r"^(?:page|per_?page|limit|offset|cursor|sort|order|size|_|v|t|ts|cb|lang|locale)$", re.I)


@dataclass(frozen=True)
class RequestSeen:
    """One request a breadcrumb recorded: where in the breadcrumbs, how, where to, and its parameters."""

    position: int
    method: str
    path: str
    params: tuple[tuple[str, str], ...]

    @property
    def label(self) -> str:
        """Say which request this was, as notes show it: `GET /api/search`."""
        return f"{self.method} {self.path}"


def requests_seen(crumbs: Sequence[Breadcrumb], origin: str | None) -> list[RequestSeen]:
    """List the same-origin requests (and navigations) the breadcrumbs recorded, in order."""
    seen: list[RequestSeen] = []
    for position, crumb in enumerate(crumbs):
        if crumb.category not in REQUEST_CATEGORIES:
            continue
        key = "to" if crumb.category == "navigation" else "url"
        url = crumb.data.get(key)
        if not isinstance(url, str) or not url:
            continue
        parts = urlsplit(url.strip())
        elsewhere = origin is None or f"{parts.scheme}://{parts.netloc}".lower() != origin
        if (parts.scheme or parts.netloc) and elsewhere:
            continue  # another host's API or analytics: says nothing about this app's fields
        method = crumb.data.get("method") if crumb.category != "navigation" else "GET"
        params = tuple(parse_qsl(parts.query, keep_blank_values=False))
        seen.append(RequestSeen(position, str(method or "GET").upper()[:16], parts.path or "/", params))
    return seen


def value_for(
    field_names: Sequence[str],
    after: int,
    requests: Sequence[RequestSeen],
    *,
    until: int | None = None,
    by_position: bool = True,
) -> tuple[str, RequestSeen] | None:
    """Find the value a field held in a later request; None when no usable one is there.

    A parameter named like the field (`name` or `id`) wins. Failing that, the first request before
    `until` (the next field the user touched) whose only parameter besides paging ones is usable is
    taken: apps often name the query parameter differently from the field (`<input name=search>`
    sending `?q=`); `by_position=False` turns that off for fields whose kind a stray value would break.
    """
    if any(SECRET_NAME.search(name) for name in field_names):
        return None  # a password or email field: whatever a request carried stays out of the test
    wanted = {name.lower() for name in field_names if name}
    later = [request for request in requests if request.position > after]
    for request in later:
        for name, value in request.params:
            if name.lower() in wanted:
                return (value, request) if is_copyable(name, value) else None
    for request in later if by_position else ():
        if until is not None and request.position > until:
            break
        meaningful = [(name, value) for name, value in request.params if not PAGING.match(name)]
        if len(meaningful) == 1 and is_copyable(*meaningful[0]):
            return meaningful[0][1], request
        if meaningful:
            break  # the first request with parameters is the one the field fed, or none is
    return None


def is_copyable(name: str, value: str) -> bool:
    """Say whether a value seen in a request may be copied into a test (not filtered, not personal)."""
    text = value.strip()
    if not text or len(text) > VALUE_MAX or text in FILTERED or SECRET_NAME.search(name):
        return False
    if any(ord(ch) < 0x20 for ch in text):
        return False
    return not (EMAIL.search(text) or PHONE.match(text) or LONG_DIGITS.search(text) or TOKEN.match(text))
