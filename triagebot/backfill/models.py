"""The regression test of one Sentry issue, from its draft pull request to an active test."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from triagebot.clock import utcnow

DRAFTING, PR_OPEN, PR_CLOSED, ACTIVE, FAILED = "drafting", "pr_open", "pr_closed", "active", "failed"
STATES = (DRAFTING, PR_OPEN, PR_CLOSED, ACTIVE, FAILED)


class RegressionTest(SQLModel, table=True):
    """One regression test per Sentry issue: where its pull request is and what state it is in."""

    __tablename__ = "regression_tests"
    __table_args__ = (Index("ix_regression_tests_repo_branch", "repo", "branch"),)

    id: int | None = Field(default=None, primary_key=True)
    issue_id: str = Field(max_length=64, unique=True)
    spec_id: str | None = Field(default=None, max_length=128)
    repo: str | None = Field(default=None, max_length=300)
    state: str = Field(default=DRAFTING, max_length=16, index=True)
    attempt: int = 1  # bumped when a failed draft is tried again, so its outbox row gets a fresh key
    pr_number: int | None = None
    pr_url: str | None = Field(default=None, max_length=2048)
    branch: str | None = Field(default=None, max_length=255)
    spec_yaml: str | None = Field(default=None, sa_column=Column(Text))
    rendered_path: str | None = Field(default=None, max_length=2048)
    created_by: str | None = Field(default=None, max_length=64)  # Slack user id of the first click
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    merged_at: datetime | None = None
    # The verification of the draft (see triagebot.verify): reproduced | not_reproduced | error; None:
    # not verified (no build to verify against was known).
    verdict: str | None = Field(default=None, max_length=16)
    verdict_detail: str | None = Field(default=None, sa_column=Column(Text))
    verified_url: str | None = Field(default=None, max_length=2048)
    verified_at: datetime | None = None
    verify_step: int | None = None  # the step the run stopped at (-1: the start page)
    verify_screenshot: str | None = Field(default=None, max_length=1024)
    verify_trace: str | None = Field(default=None, max_length=1024)


class DefaultPreview(SQLModel, table=True):
    """The newest successful deployment of a repository's default branch: where drafts are verified."""

    __tablename__ = "default_previews"

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=300, unique=True)
    url: str = Field(max_length=2048)
    sha: str | None = Field(default=None, max_length=64)
    seen_at: datetime = Field(default_factory=utcnow)
