"""Posting a queued message to a channel (the weekly digest) through the chat port."""

from __future__ import annotations

from triagebot.integrations.ports import Chat
from triagebot.outbox.models import OutboxMessage
from triagebot.outbox.worker import Outbox

POST = "slack.post_channel"


def register_channel_posts(outbox: Outbox, chat: Chat) -> None:
    """Route queued channel posts to the chat port."""

    def post(message: OutboxMessage) -> None:
        payload = message.payload
        chat.post(channel=payload["channel"], text=payload["text"], blocks=payload["blocks"])

    outbox.register(POST, post)
