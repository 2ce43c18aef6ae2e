"""The regression tests with their issue, last gate result and flakiness (empty before backfill exists)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlmodel import Session, col

from triagebot.coverage import sources
from triagebot.triage.models import Issue

STATE_LABELS = {
    "drafting": "drafting",
    "pr_open": "draft PR open",
    "pr_closed": "PR closed unmerged",
    "active": "active",
    "failed": "draft failed",
}


@dataclass(frozen=True)
class TestRow:
    """One regression test as the tests page and `/triage tests` show it."""

    __test__ = False  # not a pytest class, despite the name

    spec_id: str
    issue_id: str
    short_id: str | None
    title: str
    web_url: str | None
    state: str
    pr_url: str | None
    last_status: str | None = None
    runs: int = 0
    flaky: int = 0
    error: str | None = None  # why the last draft failed

    @property
    def state_label(self) -> str:
        """Say the state in words."""
        return STATE_LABELS.get(self.state, self.state)


def gate_stats(session: Session) -> dict[str, tuple[str | None, int, int]]:
    """Per spec id: (last outcome, runs, flaky runs) from the gate results."""
    results = sources.gate_results()
    spec, outcome, gate = results.c.spec_id, results.c.outcome, results.c.gate_id
    last = select(spec.label("spec_id"), func.max(gate).label("gate_id")).group_by(spec).subquery()
    latest: dict[str, str] = {
        key: value
        for key, value in session.execute(
            select(spec, outcome).join(last, (last.c.spec_id == spec) & (last.c.gate_id == gate))
        ).all()
    }
    counts = session.execute(
        select(spec, func.count(), func.sum(case((results.c.flaky.is_(True), 1), else_=0))).group_by(spec)
    ).all()
    return {key: (latest.get(key), int(runs), int(flaky or 0)) for key, runs, flaky in counts}


def list_tests(session: Session, *, issue_id: str | None = None) -> list[TestRow]:
    """Return every regression test (or one issue's), active first, then by the issue's events."""
    tests = sources.regression_tests()
    spec = tests.c.spec_id
    stmt = (
        select(
            spec.label("spec_id"),
            tests.c.issue_id,
            tests.c.state,
            tests.c.pr_url,
            tests.c.last_error.label("last_error"),
            col(Issue.short_id),
            col(Issue.title),
            col(Issue.web_url),
        )
        .select_from(tests)
        .outerjoin(Issue, col(Issue.id) == tests.c.issue_id)
        .order_by((tests.c.state == "active").desc(), col(Issue.event_count).desc(), spec)
    )
    if issue_id is not None:
        stmt = stmt.where(tests.c.issue_id == issue_id)
    stats = gate_stats(session)
    rows = []
    for record in session.execute(stmt).mappings():
        last, runs, flaky = stats.get(str(record["spec_id"]), (None, 0, 0))
        rows.append(
            TestRow(
                spec_id=str(record["spec_id"] or ""),  # a draft that failed has no spec yet
                issue_id=str(record["issue_id"]),
                short_id=record["short_id"],
                title=record["title"] or "",
                web_url=record["web_url"],
                state=str(record["state"]),
                pr_url=record["pr_url"],
                last_status=last,
                runs=runs,
                flaky=flaky,
                error=record["last_error"] if record["state"] == "failed" else None,
            )
        )
    return rows
