"""Which Sentry issues have an active regression test: one ranked query with its totals.

Sentry webhooks give us running totals per issue (events, users), not per-day counts, so "the last N days"
means: issues *seen* in the window (`last_seen >= now - N days`), ranked by their total events, then users.
That is what Sentry's own issue list does with a stats period and no per-day breakdown.

Coverage is weighted by events: the events of issues with an active test divided by the events of every
issue in the window *except* those marked "won't test". Excluding them from the denominator means a team
that decides on purpose not to test an issue is not reminded of it by a lower percentage forever; they
remain counted (and listed) as excluded so the decision stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select, true
from sqlalchemy.sql import Subquery
from sqlmodel import Session, col

from triagebot.coverage import sources
from triagebot.db import utcnow
from triagebot.triage.models import Issue

ACTIVE, DRAFT, CLOSED, NONE, EXCLUDED = "active", "draft", "closed", "none", "excluded"
UNPROVEN = "unproven"  # merged, but never seen to reproduce the issue's error: it covers nothing yet
GAPS = (NONE, DRAFT, CLOSED, UNPROVEN)
LABELS = {
    NONE: "no draft",
    UNPROVEN: "merged, not reproduced",
    DRAFT: "draft PR open",
    CLOSED: "PR closed unmerged",
    EXCLUDED: "won't test (excluded)",
    ACTIVE: "active",
}
# A regression test's state, ranked (the coverage states derive from the rank). Only a merged test whose
# verification reproduced the issue's error covers it ("active"); other merged ones rank just below.
TEST_RANK = {"active": 5, "unproven": 4, "pr_open": 3, "drafting": 2, "pr_closed": 1, "failed": 0}
DEFAULT_DAYS = 14


@dataclass(frozen=True)
class CoverageRow:
    """One Sentry issue in the window and its test state."""

    issue_id: str
    short_id: str | None
    title: str
    project: str | None
    events: int
    users: int
    last_seen: datetime | None
    web_url: str | None
    channel: str | None
    thread_ts: str | None
    state: str
    pr_url: str | None
    wont_test_reason: str | None

    @property
    def label(self) -> str:
        """Say the state in words."""
        return LABELS[self.state]


@dataclass(frozen=True)
class CoverageTotals:
    """Counts over every issue in the window."""

    issues: int = 0
    active: int = 0
    drafts: int = 0
    excluded: int = 0
    gaps: int = 0
    events: int = 0
    covered_events: int = 0
    excluded_events: int = 0

    @property
    def coverage(self) -> float | None:
        """Events of covered issues over events of issues not excluded; None when there are none."""
        counted = self.events - self.excluded_events
        return self.covered_events / counted if counted > 0 else None


@dataclass(frozen=True)
class CoverageReport:
    """The ranked gaps (or every issue) and the totals of the window."""

    rows: list[CoverageRow]
    totals: CoverageTotals
    days: int
    project: str | None
    since: datetime
    shown: list[str] = field(default_factory=lambda: list(GAPS))


def best_tests() -> Subquery:
    """Per issue: its regression test's rank and PR link (an empty set before the backfill flow exists).

    The backfill flow keeps one test per issue (unique issue_id), so this is a plain projection the
    planner can merge into the outer join, not a GROUP BY.
    """
    tests = sources.regression_tests()
    proven = and_(tests.c.state == "active", tests.c.verdict == "reproduced")
    rank = case(
        (proven, TEST_RANK["active"]),
        *((tests.c.state == state, value) for state, value in TEST_RANK.items() if state != "active"),
        (tests.c.state == "active", TEST_RANK["unproven"]),
        else_=-1,
    )
    return select(tests.c.issue_id, rank.label("rank"), tests.c.pr_url).subquery("best_tests")


def state_of(rank: Any, wont_test: Any) -> ColumnElement[str]:
    """Map the best test's rank and the won't-test mark to one state (an active test wins over the mark)."""
    return case(
        (rank == TEST_RANK["active"], ACTIVE),
        (rank == TEST_RANK["unproven"], UNPROVEN),
        (wont_test.is_not(None), EXCLUDED),
        (rank >= TEST_RANK["drafting"], DRAFT),
        (rank == TEST_RANK["pr_closed"], CLOSED),
        else_=NONE,
    )


def coverage_query(
    *, since: datetime, project: str | None, states: tuple[str, ...], limit: int
) -> Select[Any]:
    """Build the one ranked query: the window's totals, outer-joined to its top `limit` rows.

    The window (issues seen since `since`, each with its test state) is read once from a covering index
    on issues (last_seen, event_count, user_count, id, wont_test_reason, project_slug) plus one probe of
    regression_tests per issue; only the top rows go back to the issues table for titles and links. The
    totals side always yields one row, so totals arrive even when no issue is in `states`.
    """
    best = best_tests()
    conditions = [col(Issue.last_seen) >= since]
    if project:
        conditions.append(col(Issue.project_slug) == project)
    window = (
        select(
            col(Issue.id).label("issue_id"),
            col(Issue.event_count).label("events"),
            col(Issue.user_count).label("users"),
            state_of(best.c.rank, col(Issue.wont_test_reason)).label("state"),
        )
        .select_from(Issue)
        .outerjoin(best, best.c.issue_id == col(Issue.id))
        .where(*conditions)
        .cte("coverage_window")
    )

    def count_where(*values: str) -> Any:
        return func.coalesce(func.sum(case((window.c.state.in_(values), 1), else_=0)), 0)

    def events_where(value: str) -> Any:
        return func.coalesce(func.sum(case((window.c.state == value, window.c.events), else_=0)), 0)

    totals = select(
        func.count().label("t_issues"),
        count_where(ACTIVE).label("t_active"),
        count_where(DRAFT).label("t_drafts"),
        count_where(EXCLUDED).label("t_excluded"),
        count_where(*states).label("t_shown"),
        func.coalesce(func.sum(window.c.events), 0).label("t_events"),
        events_where(ACTIVE).label("t_covered_events"),
        events_where(EXCLUDED).label("t_excluded_events"),
    ).subquery("totals")
    top = (
        select(window)
        .where(window.c.state.in_(states))
        .order_by(window.c.events.desc(), window.c.users.desc(), window.c.issue_id)
        .limit(max(1, limit))
        .subquery("top")
    )
    details = best_tests()
    return (
        select(
            totals,
            top,
            col(Issue.short_id),
            col(Issue.title),
            col(Issue.project_slug).label("project"),
            col(Issue.last_seen),
            col(Issue.web_url),
            col(Issue.channel),
            col(Issue.thread_ts),
            col(Issue.wont_test_reason),
            details.c.pr_url,
        )
        .select_from(totals)
        .outerjoin(top, true())
        .outerjoin(Issue, col(Issue.id) == top.c.issue_id)
        .outerjoin(details, details.c.issue_id == top.c.issue_id)
        .order_by(top.c.events.desc(), top.c.users.desc(), top.c.issue_id)
    )


def coverage(
    session: Session,
    *,
    project: str | None = None,
    days: int = DEFAULT_DAYS,
    states: tuple[str, ...] = GAPS,
    limit: int = 50,
    now: datetime | None = None,
) -> CoverageReport:
    """Return the issues seen in the last `days` days in `states`, ranked by events then users, and totals."""
    since = (now or utcnow()) - timedelta(days=days)
    result = session.execute(coverage_query(since=since, project=project, states=states, limit=limit))
    records = result.mappings().all()
    totals = CoverageTotals()
    if records:
        first = records[0]
        totals = CoverageTotals(
            issues=int(first["t_issues"]),
            active=int(first["t_active"] or 0),
            drafts=int(first["t_drafts"] or 0),
            excluded=int(first["t_excluded"] or 0),
            gaps=int(first["t_shown"] or 0),
            events=int(first["t_events"] or 0),
            covered_events=int(first["t_covered_events"] or 0),
            excluded_events=int(first["t_excluded_events"] or 0),
        )
    rows = [
        CoverageRow(
            issue_id=record["issue_id"],
            short_id=record["short_id"],
            title=record["title"],
            project=record["project"],
            events=int(record["events"]),
            users=int(record["users"]),
            last_seen=record["last_seen"],
            web_url=record["web_url"],
            channel=record["channel"],
            thread_ts=record["thread_ts"],
            state=record["state"],
            pr_url=record["pr_url"],
            wont_test_reason=record["wont_test_reason"],
        )
        for record in records
        if record["issue_id"] is not None
    ]
    return CoverageReport(
        rows=rows, totals=totals, days=days, project=project, since=since, shown=list(states)
    )


def state_of_issue(session: Session, issue_id: str) -> tuple[str, str | None]:
    """Return one issue's test state and PR link (for its dashboard page)."""
    best = best_tests()
    stmt = (
        select(state_of(best.c.rank, col(Issue.wont_test_reason)), best.c.pr_url)
        .select_from(Issue)
        .outerjoin(best, best.c.issue_id == col(Issue.id))
        .where(col(Issue.id) == issue_id)
    )
    found = session.execute(stmt).first()
    return (found[0], found[1]) if found else (NONE, None)
