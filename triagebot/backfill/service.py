"""Recording clicks and pull-request changes, and queueing the outbound work they imply.

Every function here runs inside the caller's transaction and only writes rows: the GitHub, Sentry
and Slack calls happen later, from the outbox rows enqueued alongside.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from triagebot.backfill.models import ACTIVE, DRAFTING, FAILED, PR_CLOSED, PR_OPEN, RegressionTest
from triagebot.db import insert_ignore, is_postgres, utcnow
from triagebot.messages.mrkdwn import link, safe
from triagebot.outbox.store import enqueue
from triagebot.triage import service as triage
from triagebot.triage.models import Issue

if TYPE_CHECKING:
    from triagebot.verify.run import Outcome

OPEN_PR, SENTRY_ASSIGN, SENTRY_RESOLVE, SENTRY_ARCHIVE, EPHEMERAL, VERIFY = (
    "draft.open_pr",
    "sentry.assign",
    "sentry.resolve",
    "sentry.archive",
    "slack.ephemeral",
    "draft.verify",
)
BRANCH_PREFIX = "triagebot/"
DASHBOARD_USER = "dashboard"  # who clicked, when the click came from the dashboard
REASON_MAX = 500
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")


def mention(user: str | None) -> str:
    """Mention a Slack user id that Slack itself gave us; anything else is shown escaped."""
    if user and SLACK_USER.match(user):
        return f"<@{user}>"
    return safe(user or "someone", 100)


def tell(session: Session, *, channel: str, user: str, text: str) -> None:
    """Queue an ephemeral message to one user (only they see it)."""
    enqueue(session, EPHEMERAL, {"channel": channel, "user": user, "text": text}, lane=f"slack:{channel}")


def lock_test(session: Session, issue_id: str) -> RegressionTest | None:
    """Load an issue's regression test, locking the row on PostgreSQL so clicks apply one at a time."""
    stmt = select(RegressionTest).where(col(RegressionTest.issue_id) == issue_id)
    if is_postgres(session):
        stmt = stmt.with_for_update()
    return session.execute(stmt).scalar_one_or_none()


def get_test(session: Session, issue_id: str) -> RegressionTest | None:
    """Return an issue's regression test, if one was ever requested."""
    return session.execute(
        select(RegressionTest).where(col(RegressionTest.issue_id) == issue_id)
    ).scalar_one_or_none()


def _pr_link(test: RegressionTest) -> str:
    return link(test.pr_url, f"PR #{test.pr_number}") if test.pr_number else "the pull request"


def request_test(session: Session, *, issue_id: str, user: str, channel: str) -> str:
    """Record a "Create regression test" click; queue the draft unless one exists; return what happened.

    Two clicks at once meet on the unique issue_id: one inserts and queues the draft, the other
    (serialised by the row lock) sees it drafting and only tells its clicker so.
    """
    issue = session.get(Issue, issue_id)
    if issue is None:
        tell(session, channel=channel, user=user, text=f"No Sentry issue {safe(issue_id, 64)} is known here.")
        return "unknown_issue"
    now = utcnow()
    created = insert_ignore(
        session,
        RegressionTest,
        {
            "issue_id": issue_id,
            "state": DRAFTING,
            "attempt": 1,
            "created_by": user[:64],
            "created_at": now,
            "updated_at": now,
        },
        ["issue_id"],
    )
    test = lock_test(session, issue_id)
    assert test is not None
    if not created and test.state != FAILED:
        tell(session, channel=channel, user=user, text=_already(test))
        return f"exists:{test.state}"
    if not created:  # a failed draft: try again with a fresh outbox key
        test.state, test.attempt, test.last_error, test.updated_at = DRAFTING, test.attempt + 1, None, now
        test.verified_at = None  # and verify it again: the build may have changed
        test.created_by = user[:64]
        session.add(test)
    triage.queue_root_edit(session, issue)  # first, so the root says "drafting…" before GitHub is called
    enqueue(
        session,
        OPEN_PR,
        {"issue_id": issue_id, "user": user},
        ordering_key=f"draft:{issue_id}",
        lane="github",
        dedupe_key=f"draft:{issue_id}:{test.attempt}",
    )
    return "queued"


def record_verification(
    session: Session, test: RegressionTest, *, spec_yaml: str, outcome: Outcome | None, unverified: str = ""
) -> None:
    """Keep a draft's verdict (None: unverified, and why) with the spec it is about."""
    test.spec_yaml, test.verified_at, test.updated_at = spec_yaml, utcnow(), utcnow()
    if outcome is None:
        test.verdict, test.verdict_detail, test.verified_url = None, unverified[:4000] or None, None
        test.verify_step = test.verify_screenshot = test.verify_trace = None
    else:
        verdict = outcome.verdict
        test.verdict, test.verdict_detail = verdict.result, verdict.detail[:4000]
        test.verified_url, test.verify_step = outcome.base_url[:2048], verdict.step_index
        test.verify_screenshot = (verdict.screenshot or "")[:1024] or None
        test.verify_trace = (verdict.trace or "")[:1024] or None
    session.add(test)


def request_verify(session: Session, *, issue_id: str, user: str, channel: str) -> str:
    """Queue verifying an issue's draft again; return what happened, in words for the asker."""
    test = get_test(session, issue_id)
    if test is None or test.pr_number is None:
        return f"Issue {safe(issue_id, 64)} has no drafted regression test to verify."
    enqueue(
        session,
        VERIFY,
        {"issue_id": issue_id, "user": user, "channel": channel},
        ordering_key=f"draft:{issue_id}",
        lane="github",
    )
    return (
        f"Verifying the draft of {safe(issue_id, 64)} again; the thread and {_pr_link(test)} "
        "will say how it went."
    )


def _already(test: RegressionTest) -> str:
    if test.state == DRAFTING:
        return ":hourglass_flowing_sand: A regression test for this issue is being drafted already."
    if test.state == PR_OPEN:
        return f":test_tube: Already drafted: {_pr_link(test)}"
    if test.state == ACTIVE:
        return f":test_tube: This issue already has an active regression test ({_pr_link(test)})."
    return (
        f":test_tube: The draft {_pr_link(test)} was closed without merging; reopen it on the code host "
        "to continue."
    )


def test_line(session: Session, issue: Issue) -> dict[str, Any]:
    """Root-message decorator: the regression test's state, or why the issue will not get one."""
    test = get_test(session, issue.id)
    if test is not None and test.state != FAILED:
        label = {
            DRAFTING: "drafting…",
            PR_OPEN: f"{_pr_link(test)} (draft)",
            ACTIVE: f"{_pr_link(test)} (active)",
            PR_CLOSED: f"{_pr_link(test)} (closed unmerged)",
        }.get(test.state, safe(test.state, 32))
        line: dict[str, Any] = {"test_line": f":test_tube: Regression test: {label}"}
        if test.pr_url and test.state in (PR_OPEN, ACTIVE, PR_CLOSED):
            line["test_pr_url"] = test.pr_url
        return line
    if issue.wont_test_reason:
        return {
            "test_line": f":no_entry_sign: Won't test ({mention(issue.wont_test_by)}): "
            f"{safe(issue.wont_test_reason, REASON_MAX + 50)}"
        }
    if test is not None:
        return {"test_line": ":test_tube: Regression test: drafting failed (see the thread)"}
    return {}


def record_wont_test(session: Session, *, issue_id: str, reason: str, user: str) -> Issue:
    """Record why an issue gets no regression test, and say so in its thread."""
    issue = triage.get_issue_or_raise(session, issue_id)
    issue.wont_test_reason = reason.strip()[:REASON_MAX]
    issue.wont_test_by = user[:200]
    issue.updated_at = utcnow()
    session.add(issue)
    triage.queue_reply(
        session,
        issue,
        f":no_entry_sign: {mention(user)} marked this issue as won't test: "
        f"{safe(issue.wont_test_reason, 600)}",
    )
    triage.queue_root_edit(session, issue)
    return issue


def request_sentry_change(
    session: Session,
    *,
    kind: str,
    issue_id: str,
    user: str,
    channel: str,
    target: str | None = None,
    email: str | None = None,
) -> bool:
    """Queue an assign, resolve or archive call to Sentry for a click; False (and tell the user) for
    unknown issues. An assignment goes to `target` (a Slack user picked) or `email`, else the clicker."""
    if session.get(Issue, issue_id) is None:
        tell(session, channel=channel, user=user, text=f"No Sentry issue {safe(issue_id, 64)} is known here.")
        return False
    payload: dict[str, Any] = {"issue_id": issue_id, "user": user}
    if target:
        payload["target"] = target[:64]
    if email:
        payload["email"] = email.strip()[:320]
    enqueue(session, kind, payload, ordering_key=f"sentry:{issue_id}", lane="sentry")
    return True


def find_by_branch(session: Session, repo: str, branch: str) -> RegressionTest | None:
    """Return the test whose pull request comes from `branch` of `repo` (names compared case-blind)."""
    return session.execute(
        select(RegressionTest).where(
            func.lower(col(RegressionTest.repo)) == repo.lower(), col(RegressionTest.branch) == branch
        )
    ).scalar_one_or_none()


def apply_pull_state(
    session: Session, test: RegressionTest, *, state: str, merged: bool, url: str | None = None
) -> str:
    """Bring a test in line with its pull request (merged: active; closed: draft); return the new state."""
    issue = session.get(Issue, test.issue_id)
    before = test.state
    if merged and before != ACTIVE:
        test.state, test.merged_at = ACTIVE, utcnow()
        note = f":white_check_mark: {_pr_link(test)} merged: the regression test is active."
    elif not merged and state == "closed" and before == PR_OPEN:
        test.state = PR_CLOSED
        note = f":x: {_pr_link(test)} was closed without merging; the test stays a draft."
    elif state == "open" and before == PR_CLOSED:
        test.state = PR_OPEN
        note = f":test_tube: {_pr_link(test)} was reopened."
    else:
        return "unchanged"
    test.pr_url = url or test.pr_url
    test.updated_at = utcnow()
    session.add(test)
    if issue is not None:
        triage.queue_reply(session, issue, note)
        triage.queue_root_edit(session, issue)
    return test.state
