"""Reminders in an issue's thread when its draft test PR has waited for review for days."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlmodel import col

from triagebot.coverage import sources
from triagebot.db import transaction, utcnow
from triagebot.jobs.registry import CronTrigger, job
from triagebot.messages.mrkdwn import link
from triagebot.triage import service as triage
from triagebot.triage.models import Issue

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

REMIND_AFTER = timedelta(days=3)


def remind_unreviewed(services: Services, *, now: datetime | None = None) -> int:
    """Reply in the thread of each draft PR open longer than REMIND_AFTER, once a period; return how many."""
    tests = sources.regression_tests()
    now = now or utcnow()
    queued = 0
    with transaction(services.sessions) as session:
        rows = session.execute(
            select(Issue, tests.c.pr_url, tests.c.created_at)
            .select_from(tests)
            .join(Issue, col(Issue.id) == tests.c.issue_id)
            .where(tests.c.state == "pr_open", tests.c.created_at <= now - REMIND_AFTER)
            .where(col(Issue.thread_ts).is_not(None))
        ).all()
        for issue, pr_url, created_at in rows:
            waited = now - created_at
            period = int(waited / REMIND_AFTER)  # one reminder per REMIND_AFTER of waiting
            text = (
                f":hourglass: The draft regression test {link(pr_url, 'pull request')} has waited "
                f"{waited.days} days for review. Merge it to make the test active, or close it."
            )
            if triage.queue_reply(session, issue, text, dedupe_key=f"draft-reminder:{issue.id}:{period}"):
                queued += 1
    services.outbox.kick()
    return queued


@job("draft-reminders", CronTrigger(hour=10), "Remind threads of draft test PRs left unreviewed", 300)
def draft_reminders(services: Services) -> str:
    """Remind about draft PRs waiting for review."""
    return f"queued {remind_unreviewed(services)} reminders"
