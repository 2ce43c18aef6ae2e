"""Gate runs as records: requesting one (from a webhook or the API), superseding, storing the verdict.

Everything here runs inside the caller's short transaction; the browser run itself happens in
`triagebot.gates.delivery`, from an outbox row, with no transaction open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from triagebot.db import insert_ignore, utcnow
from triagebot.errors import BadInput
from triagebot.gates.models import GateResult, SpecResult
from triagebot.gates.tables import (
    ACTIVE_STATES,
    ERROR,
    FINISHED_STATES,
    QUEUED,
    RUNNING,
    SUPERSEDED,
    TRIGGERS,
    GateRun,
    GateSpecResult,
    PullRequestHead,
)
from triagebot.origin import origin_of, preview_origin
from triagebot.outbox.store import enqueue
from triagebot.settings import Settings

GATE_RUN, GATE_REPORT, PR_FILES = "gate.run", "gate.report", "gate.pr_files"
STATUS_CONTEXT = "triagebot/regressions"
# A spec flaky in at least QUARANTINE_FLAKY of its last QUARANTINE_WINDOW gates is quarantined.
QUARANTINE_FLAKY, QUARANTINE_WINDOW = 3, 10
REPO_SHAPE = "owner/name"
MAX_CHANGED_FILES = 3000  # GitHub lists at most 3000 files of a PR


@dataclass(frozen=True)
class GateRequest:
    """What a trigger asks for: gate this commit's preview (of this PR, with these changed files)."""

    repo: str
    sha: str
    preview_url: str
    trigger: str
    pr: int | None = None
    changed_files: list[str] | None = None


def validate(request: GateRequest, settings: Settings) -> GateRequest:
    """Check a request field by field (BadInput naming the field); refuse hosts the service may not gate."""
    repo = request.repo.strip()
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name or any(ch.isspace() for ch in repo) or len(repo) > 200:
        raise BadInput(f"repo: must look like {REPO_SHAPE}")
    sha = request.sha.strip().lower()
    if not 7 <= len(sha) <= 64 or any(ch not in "0123456789abcdef" for ch in sha):
        raise BadInput("sha: must be a hexadecimal commit id")
    if request.pr is not None and request.pr < 1:
        raise BadInput("pr: must be a positive pull request number")
    if request.trigger not in TRIGGERS:
        raise BadInput(f"trigger: must be one of {', '.join(TRIGGERS)}")
    url = request.preview_url.strip()
    origin = origin_of(url)
    if origin is None:
        raise BadInput("preview_url: must be an http(s) URL with a host")
    preview_origin(origin, settings)  # RefusedHost for a host outside TRIAGEBOT_PREVIEW_HOSTS
    files = request.changed_files
    if files is not None:
        if len(files) > MAX_CHANGED_FILES:
            raise BadInput(f"changed_files: at most {MAX_CHANGED_FILES} paths")
        files = [path.strip() for path in files if path.strip()]
    return GateRequest(
        repo=repo, sha=sha, preview_url=origin, trigger=request.trigger, pr=request.pr, changed_files=files
    )


def request_gate(session: Session, *, settings: Settings, request: GateRequest) -> tuple[GateRun, bool]:
    """Queue a gate for a commit's preview; return it and whether it is new.

    The same commit and preview already queued or running is not gated twice (webhooks repeat);
    gates of the same PR at another commit are superseded by this newer push.
    """
    request = validate(request, settings)
    pr = request.pr
    head = pull_request_of(session, request.repo, request.sha) if pr is None else None
    if head is not None:
        pr = head.pr
    stmt = select(GateRun).where(
        col(GateRun.repo) == request.repo,
        col(GateRun.sha) == request.sha,
        col(GateRun.preview_url) == request.preview_url,
        col(GateRun.state).in_(ACTIVE_STATES),
    )
    existing = session.execute(stmt.limit(1)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    changed = request.changed_files
    if changed is None and pr is not None:
        known = get_pull_request(session, request.repo, pr)
        if known is not None and known.files_sha == request.sha:
            changed = known.changed_files
    gate = GateRun(
        repo=request.repo,
        sha=request.sha,
        pr=pr,
        preview_url=request.preview_url,
        trigger=request.trigger,
        state=QUEUED,
        changed_files=changed,
        created_at=utcnow(),
    )
    session.add(gate)
    session.flush()
    assert gate.id is not None
    if pr is not None:
        supersede(session, repo=request.repo, pr=pr, sha=request.sha, by=gate.id)
    enqueue(
        session,
        GATE_RUN,
        {"gate_id": gate.id},
        ordering_key=f"gate:{request.repo}#{pr if pr is not None else request.sha}",
        dedupe_key=f"gate-run:{gate.id}",
    )
    queue_report(session, gate)
    return gate, True


def queue_report(session: Session, gate: GateRun) -> None:
    """Queue the commit status or check run showing the gate's current state."""
    assert gate.id is not None
    enqueue(
        session,
        GATE_REPORT,
        {"gate_id": gate.id, "state": gate.state},
        ordering_key=f"gate-report:{gate.repo}@{gate.sha}",
        lane=f"github:{gate.repo}",
    )


def supersede(session: Session, *, repo: str, pr: int, sha: str, by: int | None) -> list[GateRun]:
    """Mark a PR's queued or running gates at another commit superseded; return them."""
    stmt = select(GateRun).where(
        col(GateRun.repo) == repo,
        col(GateRun.pr) == pr,
        col(GateRun.sha) != sha,
        col(GateRun.state).in_(ACTIVE_STATES),
    )
    if by is not None:
        stmt = stmt.where(col(GateRun.id) != by)
    superseded = list(session.execute(stmt).scalars())
    for gate in superseded:
        gate.state, gate.superseded_by, gate.finished_at = SUPERSEDED, by, utcnow()
        gate.error = f"superseded by a newer push ({sha[:7]})"
        session.add(gate)
        queue_report(session, gate)
    return superseded


def record_pull_request(
    session: Session, *, repo: str, pr: int, head_sha: str, title: str | None = None
) -> PullRequestHead:
    """Remember a PR's head commit, supersede gates of older commits, and queue listing its files."""
    now = utcnow()
    insert_ignore(
        session,
        PullRequestHead,
        {"repo": repo, "pr": pr, "head_sha": head_sha, "title": title, "updated_at": now},
        ["repo", "pr"],
    )
    head = get_pull_request(session, repo, pr)
    assert head is not None
    head.head_sha, head.title, head.updated_at = head_sha, title, now
    session.add(head)
    # A deployment can report before GitHub tells us about its PR: give such gates their PR now.
    session.execute(
        update(GateRun)
        .where(
            col(GateRun.repo) == repo,
            col(GateRun.sha) == head_sha,
            col(GateRun.pr).is_(None),
            col(GateRun.state).in_(ACTIVE_STATES),
        )
        .values(pr=pr)
    )
    supersede(session, repo=repo, pr=pr, sha=head_sha, by=None)
    if head.files_sha != head_sha:
        enqueue(
            session,
            PR_FILES,
            {"repo": repo, "pr": pr, "sha": head_sha},
            ordering_key=f"gate:{repo}#{pr}",
            lane=f"github:{repo}",
            dedupe_key=f"~pr-files:{repo}#{pr}@{head_sha}",
        )
    return head


def store_changed_files(session: Session, *, repo: str, pr: int, sha: str, files: Sequence[str]) -> None:
    """Keep a PR's changed files for its head commit, and give them to its queued gate at that commit."""
    head = get_pull_request(session, repo, pr)
    if head is not None and head.head_sha == sha:
        head.changed_files, head.files_sha, head.updated_at = list(files), sha, utcnow()
        session.add(head)
    session.execute(
        update(GateRun)
        .where(
            col(GateRun.repo) == repo,
            col(GateRun.pr) == pr,
            col(GateRun.sha) == sha,
            col(GateRun.state) == QUEUED,
            col(GateRun.changed_files).is_(None),
        )
        .values(changed_files=list(files))
    )


def get_pull_request(session: Session, repo: str, pr: int) -> PullRequestHead | None:
    """Return what we know of a PR."""
    stmt = select(PullRequestHead).where(col(PullRequestHead.repo) == repo, col(PullRequestHead.pr) == pr)
    return session.execute(stmt).scalar_one_or_none()


def pull_request_of(session: Session, repo: str, sha: str) -> PullRequestHead | None:
    """Return the PR whose head is `sha`, newest first (deployment_status names a commit, not a PR)."""
    # GitHub matches owner/name without regard to case; a repo typed for the CLI or API may differ.
    stmt = select(PullRequestHead).where(
        func.lower(col(PullRequestHead.repo)) == repo.lower(), col(PullRequestHead.head_sha) == sha
    )
    newest = (col(PullRequestHead.updated_at).desc(), col(PullRequestHead.id).desc())
    return session.execute(stmt.order_by(*newest).limit(1)).scalar_one_or_none()


def get_gate(session: Session, gate_id: int) -> GateRun | None:
    """Return a gate run."""
    return session.get(GateRun, gate_id)


def latest_gate_for_pr(session: Session, pr: int, repo: str | None = None) -> GateRun | None:
    """Return the newest gate of a PR (in `repo`, or any repo)."""
    stmt = select(GateRun).where(col(GateRun.pr) == pr)
    if repo is not None:
        stmt = stmt.where(col(GateRun.repo) == repo)
    return session.execute(stmt.order_by(col(GateRun.id).desc()).limit(1)).scalar_one_or_none()


def results_of(session: Session, gate_id: int) -> list[GateSpecResult]:
    """Return a gate's per-spec results, in spec order."""
    stmt = select(GateSpecResult).where(col(GateSpecResult.gate_id) == gate_id)
    return list(session.execute(stmt.order_by(col(GateSpecResult.spec_id))).scalars())


def quarantined(session: Session, spec_ids: Sequence[str]) -> set[str]:
    """Return the specs flaky in at least QUARANTINE_FLAKY of their last QUARANTINE_WINDOW gates."""
    found = set()
    for spec_id in spec_ids:
        stmt = (
            select(col(GateSpecResult.flaky))
            .where(col(GateSpecResult.spec_id) == spec_id, col(GateSpecResult.outcome) != "skipped")
            .order_by(col(GateSpecResult.gate_id).desc())
            .limit(QUARANTINE_WINDOW)
        )
        if sum(1 for flaky in session.execute(stmt).scalars() if flaky) >= QUARANTINE_FLAKY:
            found.add(spec_id)
    return found


def start(session: Session, gate_id: int) -> GateRun | None:
    """Move a queued gate to running (a crashed earlier try leaves it running: run again); None if done."""
    gate = session.get(GateRun, gate_id)
    if gate is None or gate.state not in ACTIVE_STATES:
        return None
    gate.state, gate.started_at = RUNNING, gate.started_at or utcnow()
    session.add(gate)
    return gate


def plan(
    session: Session, gate: GateRun, *, selected: Sequence[str], reason: str, flags: Sequence[str]
) -> None:
    """Record which specs a gate runs, why, and the flags they touch."""
    gate.selected_specs, gate.selection_reason, gate.flags = list(selected), reason, sorted(set(flags))
    session.add(gate)


def outcome_of(result: SpecResult) -> str:
    """Name a spec's outcome as the record keeps it."""
    if result.quarantined and result.status != "passed":
        return "quarantined"
    return result.status


def finish(
    session: Session,
    gate_id: int,
    *,
    result: GateResult | None,
    verdict: str,
    error: str | None = None,
    spec_errors: Sequence[tuple[str, str]] = (),
) -> GateRun | None:
    """Store a finished run's results and verdict, and queue its report; None when it was superseded."""
    gate = session.get(GateRun, gate_id)
    if gate is None or gate.state not in ACTIVE_STATES:
        return None  # superseded (or settled by an earlier try): its result is discarded
    session.execute(GateSpecResult.__table__.delete().where(GateSpecResult.gate_id == gate_id))  # type: ignore[attr-defined]
    for spec_result in result.results if result is not None else []:
        session.add(_result_row(gate_id, spec_result))
    for file, message in spec_errors:
        session.add(
            GateSpecResult(
                gate_id=gate_id,
                spec_id=file[:100],
                issue_id="",
                outcome=ERROR,
                failing_step="(spec file)",
                message=message,
            )
        )
    gate.state, gate.error, gate.finished_at = verdict, error, utcnow()
    gate.run_id = result.run_id if result is not None else gate.run_id
    session.add(gate)
    session.flush()
    return gate


def _result_row(gate_id: int, result: SpecResult) -> GateSpecResult:
    failure = result.failure if result.status != "passed" else None
    evidence = failure.evidence if failure is not None else None
    errors: list[Any] = []
    if evidence is not None:
        errors = [
            *({"kind": "page_error", "text": text} for text in evidence.page_errors),
            *({"kind": "console_error", "text": text} for text in evidence.console_errors),
            *(
                {"kind": "response", "text": f"{r.method} {r.url} -> {r.status or r.error}"}
                for r in evidence.failed_responses
            ),
            *({"kind": "blocked", "text": url} for url in evidence.blocked_requests),
        ]
    return GateSpecResult(
        gate_id=gate_id,
        spec_id=result.spec_id,
        issue_id=result.issue_id,
        short_id=result.short_id,
        title=result.title,
        outcome=outcome_of(result),
        flaky=result.status == "flaky",
        duration_ms=result.duration_ms,
        failing_step=failure.step if failure is not None else None,
        message=failure.message if failure is not None else None,
        errors=errors,
        screenshot=evidence.screenshot if evidence is not None else None,
        trace=evidence.trace if evidence is not None else None,
    )


def is_finished(gate: GateRun) -> bool:
    """Say whether a gate has a verdict (passed, failed or error)."""
    return gate.state in FINISHED_STATES
