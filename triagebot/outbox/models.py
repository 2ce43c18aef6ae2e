"""Outbox rows (one outbound call each) and lanes (per-destination rate limits)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from triagebot.clock import utcnow

PENDING, DONE, DEAD = "pending", "done", "dead"


class OutboxMessage(SQLModel, table=True):
    """One outbound side effect, committed with the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_ready", "status", "due_at"),
        Index("ix_outbox_ordering", "ordering_key", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Rows sharing an ordering key are delivered strictly one after another, in id order.
    ordering_key: str | None = Field(default=None, max_length=200)
    # Rows sharing a lane share a rate limit (one Slack channel, one GitHub repo).
    lane: str | None = Field(default=None, max_length=200)
    # A row with a dedupe key is never enqueued twice while the key is set; coalescing rows clear
    # it when claimed, so a change made during their delivery enqueues a fresh row.
    dedupe_key: str | None = Field(default=None, max_length=300, unique=True)
    status: str = Field(default=PENDING, max_length=16)
    attempts: int = 0
    due_at: datetime = Field(default_factory=utcnow)
    claimed_until: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=100)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


class OutboxLane(SQLModel, table=True):
    """The earliest time the next call on a lane may be made."""

    __tablename__ = "outbox_lanes"

    lane: str = Field(primary_key=True, max_length=200)
    next_at: datetime = Field(default_factory=utcnow)
