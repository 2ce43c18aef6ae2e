"""Results of a gate run: per attempt, per spec and for the whole gate (plain values, not tables)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SpecStatus = Literal["passed", "failed", "flaky", "error"]
Verdict = Literal["passed", "failed", "error"]


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class FailedResponse(_Value):
    """A response from the preview that counts against it (5xx), or a request that never got one."""

    method: str
    url: str
    status: int | None  # None: the request itself failed (connection refused, aborted)
    error: str | None = None


class Evidence(_Value):
    """What a failed attempt left behind: what was seen in the page, plus files on disk."""

    page_errors: list[str] = Field(default_factory=list)
    console_errors: list[str] = Field(default_factory=list)
    failed_responses: list[FailedResponse] = Field(default_factory=list)
    blocked_requests: list[str] = Field(default_factory=list)  # requests to other origins, refused
    final_url: str | None = None
    screenshot: str | None = None  # path of a PNG
    trace: str | None = None  # path of a Playwright trace zip (`playwright show-trace`)


class Failure(_Value):
    """Why an attempt failed: the step (index into `steps`; -1 for `start`, None for the checks after)."""

    step_index: int | None
    step: str
    message: str
    evidence: Evidence = Field(default_factory=Evidence)

    @property
    def step_label(self) -> str:
        """Name the step for people: numbered from 1, the start navigation as `start`, checks as ``."""
        if self.step_index is None:
            return ""
        return "start" if self.step_index < 0 else f"step {self.step_index + 1}"


class Attempt(_Value):
    """One run of one spec in a fresh browser context."""

    number: int
    passed: bool
    duration_ms: int
    failure: Failure | None = None
    infrastructure: bool = False  # failed for a reason outside the app (no browser, no setup secret)


class SpecResult(_Value):
    """The outcome of one spec after its retry, if it needed one."""

    spec_id: str
    issue_id: str
    short_id: str | None = None
    title: str | None = None
    status: SpecStatus
    quarantined: bool = False
    attempts: list[Attempt]
    duration_ms: int

    @property
    def gating(self) -> bool:
        """Say whether this result fails the gate (failed or errored and not quarantined)."""
        return self.status in ("failed", "error") and not self.quarantined

    @property
    def failure(self) -> Failure | None:
        """Return the last attempt's failure, the one the evidence is about."""
        for attempt in reversed(self.attempts):
            if attempt.failure is not None:
                return attempt.failure
        return None

    @property
    def label(self) -> str:
        """Name the spec and its Sentry issue, as JUnit test cases and reports show it."""
        return f"{self.spec_id} ({self.short_id or 'issue ' + self.issue_id})"


class SelectedSpec(_Value):
    """One spec the selection kept, and why."""

    spec_id: str
    reasons: list[str]


class Selection(_Value):
    """Which specs a gate runs for a change, which it skips, and why."""

    changed_files: list[str] | None  # None: unknown, so every spec runs
    selected: list[SelectedSpec]
    skipped: list[str] = Field(default_factory=list)

    @property
    def reason(self) -> str:
        """Say in one line how the specs were chosen."""
        if self.changed_files is None:
            return f"all {_count(len(self.selected), 'spec')} (changed files unknown)"
        return (
            f"{len(self.selected)} of {_count(len(self.selected) + len(self.skipped), 'spec')} match "
            f"{_count(len(self.changed_files), 'changed file')} or always run"
        )


class GateResult(_Value):
    """The verdict of one gate run and every spec's result."""

    run_id: str
    base_url: str
    started_at: datetime
    duration_ms: int
    results: list[SpecResult]
    selection: Selection | None = None
    evidence_dir: str | None = None

    def count(self, status: SpecStatus) -> int:
        """Count the specs that ended with `status`."""
        return sum(1 for result in self.results if result.status == status)

    @property
    def quarantined(self) -> list[SpecResult]:
        """Return the quarantined specs' results (run and shown, never gating)."""
        return [result for result in self.results if result.quarantined]

    @property
    def verdict(self) -> Verdict:
        """Failed when any gating spec failed; error when only infrastructure did; else passed."""
        gating = [result for result in self.results if result.gating]
        if any(result.status == "failed" for result in gating):
            return "failed"
        return "error" if gating else "passed"


def _count(number: int, noun: str) -> str:
    """Say `1 spec`, `2 specs`."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
