"""Seeding issues (and regression tests, once the backfill flow has its table) straight into the database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from triagebot.bootstrap import Services
from triagebot.db import transaction, utcnow
from triagebot.triage.models import Issue


def issue(issue_id: str, events: int, users: int, *, days_ago: float = 1, **fields: Any) -> Issue:
    """Build an issue seen `days_ago` days ago."""
    values: dict[str, Any] = {
        "id": issue_id,
        "short_id": f"WEB-{issue_id}",
        "title": f"Error {issue_id}",
        "project_slug": "web",
        "event_count": events,
        "user_count": users,
        "first_seen": utcnow() - timedelta(days=days_ago + 1),
        "last_seen": utcnow() - timedelta(days=days_ago),
        "web_url": f"https://sentry.io/organizations/acme/issues/{issue_id}/",
        "channel": "C0TRIAGE",
        "thread_ts": f"1700000000.{int(issue_id):06d}" if issue_id.isdigit() else None,
    }
    values.update(fields)
    return Issue(**values)


def add_issues(services: Services, *issues: Issue) -> None:
    """Store issues."""
    with transaction(services.sessions) as session:
        session.add_all(issues)


def add_tests(services: Services, tests: list[dict[str, Any]]) -> None:
    """Store regression tests in the backfill flow's table."""
    from triagebot.backfill.models import RegressionTest

    with transaction(services.sessions) as session:
        session.add_all(RegressionTest(**values) for values in tests)
