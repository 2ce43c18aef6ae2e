"""Tables of the gate flow: gate runs, their per-spec results, and what each pull request changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from triagebot.clock import utcnow

QUEUED, RUNNING, PASSED, FAILED, ERROR, SUPERSEDED = (
    "queued",
    "running",
    "passed",
    "failed",
    "error",
    "superseded",
)
ACTIVE_STATES = (QUEUED, RUNNING)
FINISHED_STATES = (PASSED, FAILED, ERROR)
TRIGGERS = ("deployment_status", "pull_request", "api", "cli")
OUTCOMES = ("passed", "failed", "flaky", "quarantined", "skipped", "error")


class GateRun(SQLModel, table=True):
    """One gate: a commit's preview, the specs selected for it, and the verdict reported on the commit."""

    __tablename__ = "gate_runs"
    __table_args__ = (
        Index("ix_gate_runs_repo_pr", "repo", "pr", "id"),
        Index("ix_gate_runs_repo_sha", "repo", "sha"),
    )

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=200)
    sha: str = Field(max_length=64)
    pr: int | None = None
    preview_url: str = Field(max_length=2048)
    trigger: str = Field(max_length=32)  # one of TRIGGERS
    state: str = Field(default=QUEUED, max_length=16)
    selection_reason: str | None = Field(default=None, sa_column=Column(Text))
    selected_specs: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # None: the changed files are unknown, so every active spec runs.
    changed_files: list[str] | None = Field(default=None, sa_column=Column(JSON))
    # Flag keys carried by the selected specs: a failing gate holds back those flags' rollouts.
    flags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    run_id: str | None = Field(default=None, max_length=64)  # the runner's id; names the evidence folder
    error: str | None = Field(default=None, sa_column=Column(Text))  # infrastructure trouble, said plainly
    superseded_by: int | None = None
    summary: str | None = Field(default=None, sa_column=Column(Text))  # markdown, as reported
    report_target: str | None = Field(default=None, max_length=16)  # status | check_run | none
    check_run_id: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None


class GateSpecResult(SQLModel, table=True):
    """How one spec did in one gate, with the evidence kept for a failure."""

    __tablename__ = "gate_results"
    __table_args__ = (
        UniqueConstraint("gate_id", "spec_id", name="uq_gate_results_gate_spec"),
        Index("ix_gate_results_spec", "spec_id", "gate_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    gate_id: int = Field(foreign_key="gate_runs.id", index=True)
    spec_id: str = Field(max_length=100)
    issue_id: str = Field(max_length=64)
    short_id: str | None = Field(default=None, max_length=128)
    title: str | None = Field(default=None, sa_column=Column(Text))
    outcome: str = Field(max_length=16)  # one of OUTCOMES
    flaky: bool = False  # failed once, then passed on the retry (also counted when quarantined)
    duration_ms: int = 0
    failing_step: str | None = Field(default=None, sa_column=Column(Text))
    message: str | None = Field(default=None, sa_column=Column(Text))
    errors: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    screenshot: str | None = Field(default=None, max_length=1024)
    trace: str | None = Field(default=None, max_length=1024)


class PullRequestHead(SQLModel, table=True):
    """A pull request's head commit and the files it changes (for selection), from `pull_request` events."""

    __tablename__ = "gate_pull_requests"
    __table_args__ = (UniqueConstraint("repo", "pr", name="uq_gate_pull_requests_repo_pr"),)

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(max_length=200)
    pr: int
    head_sha: str = Field(max_length=64, index=True)
    title: str | None = Field(default=None, sa_column=Column(Text))
    # None until the code host has listed them for `files_sha`.
    changed_files: list[str] | None = Field(default=None, sa_column=Column(JSON))
    files_sha: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)
