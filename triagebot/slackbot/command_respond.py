"""Answering a slash command through its `response_url`, from the outbox, one page per message.

Slack lets a `response_url` be used five times within thirty minutes; an answer longer than one message
(50 blocks, 3000 characters a section) is split into pages, and anything past the fifth page is cut with
a note saying so.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlmodel import Session

from triagebot.integrations.slack_response import RESPOND
from triagebot.messages.mrkdwn import MESSAGE_TEXT, SECTION_TEXT, cut
from triagebot.outbox.store import enqueue
from triagebot.slackbot.command_registry import Answer, Blocks

MAX_BLOCKS = 50
MAX_PAGES = 5  # Slack accepts five posts to one response_url


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
