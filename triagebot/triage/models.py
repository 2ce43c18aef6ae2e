"""Tables of the triage flow: Sentry issues (each with its one Slack thread) and webhook deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from triagebot.clock import utcnow


class Issue(SQLModel, table=True):
    """A Sentry issue as last reported, and where its Slack thread lives."""

    __tablename__ = "issues"
    __table_args__ = (
        Index("ix_issues_project_status", "project_slug", "status"),
        # Covers the coverage query's window scan (seen since, events, users, state inputs, project).
        Index(
            "ix_issues_coverage",
            "last_seen",
            "event_count",
            "user_count",
            "id",
            "wont_test_reason",
            "project_slug",
        ),
    )

    id: str = Field(primary_key=True, max_length=64)  # Sentry's group id
    short_id: str | None = Field(default=None, max_length=128)
    title: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    culprit: str | None = Field(default=None, sa_column=Column(Text))
    level: str | None = Field(default=None, max_length=32)
    status: str = Field(default="unresolved", max_length=32)
    substatus: str | None = Field(default=None, max_length=64)
    platform: str | None = Field(default=None, max_length=64)
    project_slug: str | None = Field(default=None, max_length=200)
    project_id: str | None = Field(default=None, max_length=64)
    environment: str | None = Field(default=None, max_length=200)
    release: str | None = Field(default=None, max_length=250)
    event_count: int = 0  # Sentry's total when it told us one, else the events we saw (whichever is larger)
    events_seen: int = 0  # distinct event webhooks received
    user_count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    web_url: str | None = Field(default=None, max_length=2048)
    assignee: str | None = Field(default=None, max_length=320)
    flags: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    latest_event_id: str | None = Field(default=None, max_length=64)
    latest_event: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    channel: str | None = Field(default=None, max_length=64)
    thread_ts: str | None = Field(default=None, max_length=64)
    root_version: int = 0  # bumped on each edit so Slack gets fresh block ids
    wont_test_reason: str | None = Field(default=None, sa_column=Column(Text))
    wont_test_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Delivery(SQLModel, table=True):
    """One webhook received, kept for de-duplication and for looking back at what arrived."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("source", "key", name="uq_deliveries_source_key"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=16)  # sentry | github
    key: str = Field(max_length=200)  # the sender's delivery id or a digest of the body
    resource: str = Field(max_length=64)
    action: str | None = Field(default=None, max_length=64)
    outcome: str = Field(default="accepted", max_length=32)
    issue_id: str | None = Field(default=None, max_length=64)
    body: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    received_at: datetime = Field(default_factory=utcnow, index=True)
