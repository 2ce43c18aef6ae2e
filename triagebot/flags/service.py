"""Changing a flag's rollout (refused while its gate fails or a new issue carries it) and reading it back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlmodel import Session, col

from triagebot.db import insert_ignore, is_postgres, utcnow
from triagebot.errors import BadInput
from triagebot.flags.models import (
    COMPLETE,
    DEFAULT_ENVIRONMENT,
    PAUSED,
    ROLLED_BACK,
    ROLLING,
    FlagChange,
    FlagRollout,
)
from triagebot.gates.tables import FAILED, FINISHED_STATES, GateRun
from triagebot.triage.models import Issue

Action = Literal["set", "rollback", "pause", "resume"]
ACTIONS: tuple[Action, ...] = ("set", "rollback", "pause", "resume")
RECENT_GATES = 500  # finished gates looked at for "the latest gate of each PR"
FLAG_KEY_MAX = 256


class FlagRefused(BadInput):
    """Advancing a flag was refused; `reasons` say why (each a plain sentence)."""

    def __init__(self, key: str, reasons: Sequence[str]) -> None:
        super().__init__(f"advancing {key} is refused: " + "; ".join(reasons))
        self.key, self.reasons = key, list(reasons)


@dataclass(frozen=True)
class FlagRequest:
    """A change someone asked for: a new percentage, or a rollback, pause or resume."""

    key: str
    actor: str
    action: Action = "set"
    percent: int | None = None
    environment: str = DEFAULT_ENVIRONMENT
    reason: str | None = None
    pr: int | None = None
    gate_id: int | None = None
    force: str | None = None  # the override's reason: advance even though it would be refused
    source: str = "api"


@dataclass(frozen=True)
class Blocker:
    """Why a flag may not advance now, and what it points at (a gate or a Sentry issue)."""

    text: str
    gate_id: int | None = None
    issue_id: str | None = None


def validate(request: FlagRequest) -> FlagRequest:
    """Check a request's fields, raising BadInput naming the one that is wrong."""
    key = request.key.strip()
    if not key or len(key) > FLAG_KEY_MAX or any(ch.isspace() for ch in key):
        raise BadInput("key: must be 1-256 characters without spaces")
    if request.action not in ACTIONS:
        raise BadInput(f"action: must be one of {', '.join(ACTIONS)}")
    if request.action == "set":
        if request.percent is None:
            raise BadInput("percent: required to set a stage")
        if not 0 <= request.percent <= 100:
            raise BadInput("percent: must be between 0 and 100")
    environment = request.environment.strip() or DEFAULT_ENVIRONMENT
    if len(environment) > 200:
        raise BadInput("environment: at most 200 characters")
    if not request.actor.strip():
        raise BadInput("actor: required (who made the change)")
    return FlagRequest(
        key=key,
        actor=request.actor.strip()[:200],
        action=request.action,
        percent=request.percent,
        environment=environment,
        reason=(request.reason or "").strip() or None,
        pr=request.pr,
        gate_id=request.gate_id,
        force=(request.force or "").strip() or None,
        source=request.source,
    )


def get_rollout(session: Session, key: str, environment: str = DEFAULT_ENVIRONMENT) -> FlagRollout | None:
    """Return a flag's rollout in one environment, if it has one."""
    stmt = select(FlagRollout).where(col(FlagRollout.key) == key, col(FlagRollout.environment) == environment)
    return session.execute(stmt).scalar_one_or_none()


def list_rollouts(session: Session, keys: Sequence[str] | None = None) -> list[FlagRollout]:
    """Return every rollout (or those of `keys`), by key then environment."""
    stmt = select(FlagRollout).order_by(col(FlagRollout.key), col(FlagRollout.environment))
    if keys is not None:
        stmt = stmt.where(col(FlagRollout.key).in_(list(keys)))
    return list(session.execute(stmt).scalars())


def history(session: Session, key: str, *, limit: int = 50) -> list[FlagChange]:
    """Return a flag's changes, newest first."""
    stmt = (
        select(FlagChange)
        .where(col(FlagChange.flag_key) == key)
        .order_by(col(FlagChange.id).desc())
        .limit(limit)
    )
    return list(session.execute(stmt).scalars())


def failing_gates(session: Session, key: str) -> list[GateRun]:
    """Return the failing gates that are the latest finished gate of their PR and touch flag `key`."""
    stmt = (
        select(GateRun)
        .where(col(GateRun.state).in_(FINISHED_STATES))
        .order_by(col(GateRun.id).desc())
        .limit(RECENT_GATES)
    )
    latest: dict[tuple[str, int | str], GateRun] = {}
    for gate in session.execute(stmt).scalars():
        # A gate without a PR stands for its commit alone.
        latest.setdefault((gate.repo, gate.pr if gate.pr is not None else gate.sha), gate)
    return [gate for gate in latest.values() if gate.state == FAILED and key in (gate.flags or [])]


def new_issues_carrying(session: Session, key: str, environment: str, since: datetime) -> list[Issue]:
    """Return unresolved Sentry issues first seen since `since` whose event carried flag `key`."""
    stmt = (
        select(Issue)
        .where(col(Issue.status) == "unresolved", col(Issue.first_seen) >= since)
        .order_by(col(Issue.first_seen))
    )
    found = []
    for issue in session.execute(stmt).scalars():
        if issue.environment and issue.environment != environment:
            continue
        if key in flag_keys(issue):
            found.append(issue)
    return found


def flag_keys(issue: Issue) -> list[str]:
    """Return the flag keys seen on an issue's event (`flags` holds [key, value] pairs)."""
    return [str(pair[0]) for pair in issue.flags or [] if isinstance(pair, list | tuple) and len(pair) == 2]


def blockers(session: Session, key: str, environment: str, rollout: FlagRollout | None) -> list[Blocker]:
    """Say what stops flag `key` from advancing in `environment` now (empty: nothing does)."""
    found = []
    for gate in failing_gates(session, key):
        where = f"PR #{gate.pr}" if gate.pr is not None else f"commit {gate.sha[:7]}"
        found.append(
            Blocker(f"the latest gate of {where} in {gate.repo} (gate {gate.id}) is failing", gate_id=gate.id)
        )
    if rollout is not None and rollout.percent > 0:
        for issue in new_issues_carrying(session, key, environment, rollout.stage_since):
            name = issue.short_id or f"Sentry issue {issue.id}"
            found.append(
                Blocker(
                    f"{name} is unresolved, first seen during the {rollout.percent}% stage, "
                    f"and its event carries {key}",
                    issue_id=issue.id,
                )
            )
    return found


def _lock(session: Session, key: str, environment: str) -> FlagRollout | None:
    """Load a rollout for change, locking its row on PostgreSQL so changes apply one at a time."""
    stmt = select(FlagRollout).where(col(FlagRollout.key) == key, col(FlagRollout.environment) == environment)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def change_flag(session: Session, request: FlagRequest) -> tuple[FlagRollout, FlagChange]:
    """Apply a rollout change and record it; raise FlagRefused when advancing is blocked and not forced."""
    request = validate(request)
    now = utcnow()
    fresh = insert_ignore(
        session,
        FlagRollout,
        {
            "key": request.key,
            "environment": request.environment,
            "percent": 0,
            "state": ROLLING,
            "stage_since": now,
            "updated_at": now,
        },
        ["key", "environment"],
    )
    rollout = _lock(session, request.key, request.environment)
    assert rollout is not None
    before_percent, before_state = rollout.percent, rollout.state
    percent, state = _target(request, rollout)
    advancing = percent > before_percent or (before_state in (PAUSED, ROLLED_BACK) and state == ROLLING)
    override_reason = None
    if advancing and percent > 0:
        found = blockers(session, request.key, request.environment, None if fresh else rollout)
        if found and request.force is None:
            raise FlagRefused(request.key, [blocker.text for blocker in found])
        if found:
            override_reason = "; ".join(blocker.text for blocker in found)
    if percent != before_percent:
        rollout.stage_since = now
    rollout.percent, rollout.state = percent, state
    rollout.updated_by, rollout.updated_at = request.actor, now
    rollout.pr = request.pr if request.pr is not None else rollout.pr
    rollout.gate_id = request.gate_id if request.gate_id is not None else rollout.gate_id
    session.add(rollout)
    change = FlagChange(
        flag_key=request.key,
        environment=request.environment,
        action=request.action,
        from_percent=None if fresh else before_percent,
        to_percent=percent,
        from_state=None if fresh else before_state,
        to_state=state,
        actor=request.actor,
        source=request.source,
        reason=request.force if override_reason else (request.reason or request.force),
        pr=request.pr,
        gate_id=request.gate_id,
        override=override_reason is not None,
        override_reason=override_reason,
        at=now,
    )
    session.add(change)
    session.flush()
    return rollout, change


def _target(request: FlagRequest, rollout: FlagRollout) -> tuple[int, str]:
    """Return the percentage and state a request leads to."""
    if request.action == "rollback":
        return 0, ROLLED_BACK
    if request.action == "pause":
        return rollout.percent, PAUSED
    if request.action == "resume":
        return rollout.percent, COMPLETE if rollout.percent >= 100 else ROLLING
    assert request.percent is not None
    if request.percent >= 100:
        return 100, COMPLETE
    if request.percent == 0 and rollout.percent > 0:
        return 0, ROLLED_BACK
    return request.percent, ROLLING


def stage_text(rollout: FlagRollout) -> str:
    """Describe a rollout's stage in plain words: `25% in production (rolling)`."""
    return f"{rollout.percent}% in {rollout.environment} ({rollout.state.replace('_', ' ')})"


def partial_rollouts(session: Session, keys: Sequence[str], environment: str | None) -> list[FlagRollout]:
    """Return the partial rollouts among `keys`, preferring `environment` when a key has several."""
    if not keys:
        return []
    chosen: dict[str, FlagRollout] = {}
    for rollout in list_rollouts(session, keys):
        if not rollout.partial:
            continue
        if rollout.key not in chosen or rollout.environment == environment:
            chosen[rollout.key] = rollout
    return [chosen[key] for key in keys if key in chosen]


def rollback_from_thread(
    session: Session, *, key: str, environment: str, issue_id: str, user_id: str
) -> FlagRollout:
    """Roll a flag back from an issue's thread, then say so in the thread and refresh its root message."""
    from triagebot.messages.mrkdwn import code, safe
    from triagebot.triage.service import queue_reply, queue_root_edit

    issue = session.get(Issue, issue_id)
    name = (issue.short_id if issue is not None else None) or f"Sentry issue {issue_id}"
    rollout, _change = change_flag(
        session,
        FlagRequest(
            key=key,
            environment=environment,
            action="rollback",
            actor=f"slack:{user_id}",
            reason=f"rolled back from the Slack thread of {name}",
            source="thread",
        ),
    )
    if issue is not None and issue.channel:
        text = (
            f":rewind: <@{safe(user_id, 40)}> rolled back flag {code(key, 300)} in "
            f"{safe(environment, 200)} to 0%."
        )
        queue_reply(session, issue, text)
        queue_root_edit(session, issue)
    return rollout
