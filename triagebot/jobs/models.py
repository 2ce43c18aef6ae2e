"""Leases that keep one scheduler and one run of each job across instances."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from triagebot.clock import utcnow


class Lease(SQLModel, table=True):
    """Who holds a named lease (the scheduler, or a running job) and until when."""

    __tablename__ = "leases"

    name: str = Field(primary_key=True, max_length=100)
    holder: str = Field(max_length=100)
    expires_at: datetime = Field(default_factory=utcnow)
    last_started: datetime | None = None
    last_finished: datetime | None = None
    last_result: str | None = Field(default=None, max_length=200)
