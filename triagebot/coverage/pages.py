"""Read-only queries behind the dashboard pages: the trend chart, gate runs, flags, a local thread."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from triagebot.coverage import queries, sources
from triagebot.triage.models import Issue


@dataclass(frozen=True)
class DayBar:
    """Issues first seen on one day, and how many of them now have an active test."""

    day: date
    issues: int
    covered: int


def first_seen_by_day(
    session: Session, *, days: int, now: datetime, project: str | None = None
) -> list[DayBar]:
    """Count issues first seen per day over the last `days` days, and those with an active test.

    Sentry's webhooks carry totals, not events per day, so this is the honest trend we can draw: are new
    problems getting tests?
    """
    best = queries.best_tests()
    day = func.date(col(Issue.first_seen))
    active = case((best.c.rank == queries.TEST_RANK["active"], 1), else_=0)
    stmt = (
        select(day.label("day"), func.count(), func.sum(active))
        .select_from(Issue)
        .outerjoin(best, best.c.issue_id == col(Issue.id))
        .where(col(Issue.first_seen) >= now - timedelta(days=days))
        .group_by(day)
    )
    if project:
        stmt = stmt.where(col(Issue.project_slug) == project)
    counts = {
        str(found): (int(total), int(covered or 0)) for found, total, covered in session.execute(stmt).all()
    }
    start = (now - timedelta(days=days - 1)).date()
    bars = []
    for offset in range(days):
        current = start + timedelta(days=offset)
        total, covered = counts.get(current.isoformat(), (0, 0))
        bars.append(DayBar(current, total, covered))
    return bars


def rows_of(session: Session, stmt: Any) -> list[dict[str, Any]]:
    """Run a statement and return its rows as dicts."""
    return [dict(row) for row in session.execute(stmt).mappings().all()]


def gate_runs(session: Session, *, limit: int = 100) -> list[dict[str, Any]]:
    """The newest gate runs with their result counts."""
    runs, results = sources.gate_runs(), sources.gate_results()
    failed = func.sum(case((results.c.outcome.in_(("failed", "error")), 1), else_=0))
    counts = (
        select(results.c.gate_id, func.count().label("specs"), failed.label("failed"))
        .group_by(results.c.gate_id)
        .subquery()
    )
    stmt = (
        select(
            runs,
            func.coalesce(counts.c.specs, 0).label("specs"),
            func.coalesce(counts.c.failed, 0).label("failed"),
        )
        .outerjoin(counts, counts.c.gate_id == runs.c.id)
        .order_by(runs.c.id.desc())
        .limit(limit)
    )
    return rows_of(session, stmt)


def gate_run(session: Session, gate_id: int) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """One gate run and its per-spec results, failures first."""
    runs, results = sources.gate_runs(), sources.gate_results()
    found = rows_of(session, select(runs).where(runs.c.id == gate_id))
    if not found:
        return None, []
    order = case((results.c.outcome.in_(("failed", "error")), 0), (results.c.outcome == "flaky", 1), else_=2)
    specs = rows_of(
        session, select(results).where(results.c.gate_id == gate_id).order_by(order, results.c.spec_id)
    )
    return found[0], specs


def gate_history(session: Session, issue_id: str, *, limit: int = 20) -> list[dict[str, Any]]:
    """The gates that ran an issue's regression test, newest first."""
    runs, results = sources.gate_runs(), sources.gate_results()
    stmt = (
        select(
            runs.c.id,
            runs.c.repo,
            runs.c.pr,
            runs.c.sha,
            runs.c.created_at,
            results.c.outcome,
            results.c.message,
        )
        .join(results, results.c.gate_id == runs.c.id)
        .where(results.c.issue_id == issue_id)
        .order_by(runs.c.id.desc())
        .limit(limit)
    )
    return rows_of(session, stmt)


def evidence_paths(session: Session) -> set[str]:
    """Every screenshot and trace path a gate result points at (only these are served)."""
    results = sources.gate_results()
    found: set[str] = set()
    for screenshot, trace in session.execute(select(results.c.screenshot, results.c.trace)).all():
        found.update(path for path in (screenshot, trace) if path)
    return found


@dataclass(frozen=True)
class FlagTimeline:
    """A flag's rollout in one environment and its changes, oldest first."""

    key: str
    environment: str
    percent: int
    state: str
    changes: list[dict[str, Any]]


def flag_timelines(session: Session) -> list[FlagTimeline]:
    """Every flag rollout with its history."""
    rollouts, changes = sources.flag_rollouts(), sources.flag_changes()
    history: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for change in rows_of(session, select(changes).order_by(changes.c.at, changes.c.id)):
        history[(change["flag_key"], change["environment"])].append(change)
    return [
        FlagTimeline(
            key=row["key"],
            environment=row["environment"],
            percent=int(row["percent"]),
            state=row["state"],
            changes=history.get((row["key"], row["environment"]), []),
        )
        for row in rows_of(session, select(rollouts).order_by(rollouts.c.key, rollouts.c.environment))
    ]


def local_thread(session: Session, issue: Issue) -> list[dict[str, Any]]:
    """The messages of an issue's thread in the local chat stand-in: the root, then replies in order."""
    from triagebot.integrations.localchat import LocalMessage

    if not issue.thread_ts:
        return []
    stmt = (
        select(LocalMessage)
        .where(
            (col(LocalMessage.ts) == issue.thread_ts) | (col(LocalMessage.thread_ts) == issue.thread_ts),
            col(LocalMessage.ephemeral_user).is_(None),
        )
        .order_by(col(LocalMessage.id))
    )
    return [
        {"text": message.text, "at": message.created_at, "root": message.ts == issue.thread_ts}
        for message in session.execute(stmt).scalars()
    ]
