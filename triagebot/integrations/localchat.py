"""A stand-in for Slack when none is configured: messages are rows, shown on the dashboard."""

from __future__ import annotations

import itertools
import time
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, select
from sqlmodel import Field, SQLModel

from triagebot.db import SessionFactory, transaction, utcnow
from triagebot.integrations.ports import Posted

_seq = itertools.count()
LOCAL_CHANNEL = "dashboard"  # the channel of threads opened without Slack


class LocalMessage(SQLModel, table=True):
    """A message the local chat stand-in 'posted'."""

    __tablename__ = "local_messages"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=64, index=True)
    ts: str = Field(max_length=64, unique=True)
    thread_ts: str | None = Field(default=None, max_length=64, index=True)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    blocks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    broadcast: bool = False
    ephemeral_user: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class LocalChat:
    """The Chat port over the database, for `triagebot demo` and teams without Slack."""

    def __init__(self, sessions: SessionFactory) -> None:
        self.sessions = sessions

    def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> Posted:
        """Store a message and return its Slack-style timestamp."""
        ts = f"{time.time():.6f}{next(_seq) % 1000:03d}"
        with transaction(self.sessions) as session:
            session.add(
                LocalMessage(
                    channel=channel, ts=ts, thread_ts=thread_ts, text=text, blocks=blocks, broadcast=broadcast
                )
            )
        return Posted(channel=channel, ts=ts)

    def update(self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace a stored message's content."""
        with transaction(self.sessions) as session:
            message = session.execute(select(LocalMessage).where(LocalMessage.ts == ts)).scalar_one()  # type: ignore[arg-type]
            message.text, message.blocks, message.updated_at = text, blocks, utcnow()

    def post_ephemeral(
        self, *, channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Store a message meant for one user."""
        with transaction(self.sessions) as session:
            session.add(
                LocalMessage(
                    channel=channel,
                    ts=f"{time.time():.6f}e",
                    text=text,
                    blocks=blocks or [],
                    ephemeral_user=user,
                )
            )

    def open_view(self, *, trigger_id: str, view: dict[str, Any]) -> None:
        """Modals have no local equivalent; the dashboard asks for the reason inline."""
        del trigger_id, view

    def user_email(self, user_id: str) -> str | None:
        """Local users have no directory to look an email up in."""
        del user_id
        return None
