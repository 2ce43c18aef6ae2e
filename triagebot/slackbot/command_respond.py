"""Answering a slash command through its `response_url`, from the outbox, one page per message.

Slack lets a `response_url` be used five times within thirty minutes; an answer longer than one message
(50 blocks, 3000 characters a section) is split into pages, and anything past the fifth page is cut with
a note saying so.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlmodel import Session

from triagebot.errors import PermanentFailure, RetryLater
from triagebot.outbox.models import OutboxMessage
from triagebot.outbox.store import enqueue
from triagebot.settings import Settings
from triagebot.slackbot.command_registry import Answer, Blocks
from triagebot.slackbot.mrkdwn import MESSAGE_TEXT, SECTION_TEXT, cut

log = logging.getLogger(__name__)

RESPOND = "slack.respond"
MAX_BLOCKS = 50
MAX_PAGES = 5  # Slack accepts five posts to one response_url
SLACK_HOOKS = ("https", "hooks.slack.com", None)


def origin(url: str) -> tuple[str, str, int | None]:
    """Return (scheme, host, explicit port) of a URL, lower-cased."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1  # an unparsable port never matches
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def response_url_allowed(url: str, settings: Settings) -> bool:
    """Accept Slack's hooks host, or the configured Slack API's own origin (a local server in tests).

    The URL arrives in the request body; only a signed request reaches us, but we still refuse to post
    anywhere else so a forged or mistaken value cannot make us call an internal address.
    """
    if not url or any(ch in url for ch in "\r\n\\@"):
        return False
    found = origin(url)
    return found in (SLACK_HOOKS, origin(settings.slack_api_url))


def split_blocks(blocks: Blocks) -> list[Blocks]:
    """Cut section texts to Slack's limit and split the blocks into messages of at most 50."""
    fitted: Blocks = []
    for block in blocks:
        text = block.get("text")
        if (
            block.get("type") == "section"
            and isinstance(text, dict)
            and len(text.get("text", "")) > SECTION_TEXT
        ):
            block = {**block, "text": {**text, "text": cut(text["text"], SECTION_TEXT)}}
        fitted.append(block)
    return [fitted[start : start + MAX_BLOCKS] for start in range(0, len(fitted), MAX_BLOCKS)] or [[]]


def pages(answer: Answer, *, share: bool) -> list[dict[str, Any]]:
    """Turn an answer into the bodies to post, in order."""
    chunks = split_blocks(answer.blocks)
    if len(chunks) > MAX_PAGES:
        chunks = chunks[:MAX_PAGES]
        note = f"_Cut after {MAX_PAGES} messages; narrow the question (a project, fewer days, `--top`)._"
        last = chunks[-1][: MAX_BLOCKS - 1]
        chunks[-1] = [*last, {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]
    total = len(chunks)
    bodies = []
    for number, chunk in enumerate(chunks, start=1):
        text = answer.text if total == 1 else f"{answer.text} ({number}/{total})"
        body: dict[str, Any] = {
            "response_type": "in_channel" if share else "ephemeral",
            "replace_original": False,
            "text": cut(text, MESSAGE_TEXT),
        }
        if chunk:
            body["blocks"] = chunk
        bodies.append(body)
    return bodies


def queue_answer(session: Session, *, response_url: str, answer: Answer, share: bool) -> int:
    """Queue the answer's pages for delivery to `response_url` (in order); return how many."""
    key = "respond:" + hashlib.sha256(response_url.encode()).hexdigest()[:24]
    bodies = pages(answer, share=share and not answer.private)
    for body in bodies:
        enqueue(session, RESPOND, {"response_url": response_url, "body": body}, ordering_key=key)
    return len(bodies)


class ResponseDelivery:
    """The outbox handler posting queued answers to their `response_url`."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def __call__(self, message: OutboxMessage) -> None:
        """POST one page; retry on 429/5xx/network trouble, give up on an expired or refused URL."""
        url = str(message.payload.get("response_url", ""))
        if not response_url_allowed(url, self.settings):
            raise PermanentFailure("response_url is not a Slack hooks URL; refused")
        try:
            response = httpx.post(url, json=message.payload["body"], timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise RetryLater(f"slack response_url: {type(exc).__name__}: {exc}") from None
        if response.status_code == 429 or response.status_code >= 500:
            after = response.headers.get("Retry-After")
            delay = float(after) if after and after.replace(".", "", 1).isdigit() else None
            raise RetryLater(f"slack response_url: {response.status_code}", after=delay)
        if response.status_code >= 400:
            # 404 expired_url / used_url: thirty minutes or five posts have passed; retrying cannot help.
            raise PermanentFailure(f"slack response_url: {response.status_code} {response.text[:200]}")
