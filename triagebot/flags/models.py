"""Tables of the rollout record: each flag's current stage per environment, and every change to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from triagebot.clock import utcnow

ROLLING, PAUSED, ROLLED_BACK, COMPLETE = "rolling", "paused", "rolled_back", "complete"
STATES = (ROLLING, PAUSED, ROLLED_BACK, COMPLETE)
DEFAULT_ENVIRONMENT = "production"


class FlagRollout(SQLModel, table=True):
    """Where a flag's rollout stands in one environment."""

    __tablename__ = "flag_rollouts"
    __table_args__ = (UniqueConstraint("key", "environment", name="uq_flag_rollouts_key_env"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=256)
    environment: str = Field(default=DEFAULT_ENVIRONMENT, max_length=200)
    percent: int = 0
    state: str = Field(default=ROLLING, max_length=16)
    stage_since: datetime = Field(default_factory=utcnow)  # when the current percentage was set
    updated_by: str | None = Field(default=None, max_length=200)
    pr: int | None = None
    gate_id: int | None = None
    updated_at: datetime = Field(default_factory=utcnow)

    @property
    def partial(self) -> bool:
        """Say whether only part of the traffic sees the flag (the stage issues are blamed on)."""
        return 0 < self.percent < 100 and self.state in (ROLLING, PAUSED)


class FlagChange(SQLModel, table=True):
    """One change to a flag's rollout: who, when, why, and whether a refusal was overridden."""

    __tablename__ = "flag_changes"
    __table_args__ = (Index("ix_flag_changes_key_env", "flag_key", "environment", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    flag_key: str = Field(max_length=256)
    environment: str = Field(max_length=200)
    action: str = Field(max_length=16)  # set | rollback | pause | resume
    from_percent: int | None = None  # None: the flag was new
    to_percent: int
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    actor: str = Field(max_length=200)
    source: str = Field(default="api", max_length=16)  # slack | api | thread
    reason: str | None = Field(default=None, sa_column=Column(Text))
    pr: int | None = None
    gate_id: int | None = None
    override: bool = False  # advanced past a refusal with --force
    override_reason: str | None = Field(default=None, sa_column=Column(Text))  # what was overridden
    at: datetime = Field(default_factory=utcnow)
