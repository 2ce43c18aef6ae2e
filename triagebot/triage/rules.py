"""Pure decisions of the triage flow: echoes, what a report changes, and what the thread should say."""

from __future__ import annotations

from dataclasses import dataclass

from triagebot.integrations.sentry.webhooks import IssueReport
from triagebot.messages.mrkdwn import safe
from triagebot.triage.models import Issue


@dataclass(frozen=True)
class ThreadNote:
    """A reply to post in the issue's thread."""

    text: str  # mrkdwn; outside values already escaped
    broadcast: bool = False


def is_own_echo(report: IssueReport, own_app_id: str | None) -> bool:
    """Say whether this webhook reports a change triagebot itself made through Sentry's API.

    Sentry names the actor `{"type": "application"}` both for itself ("sentry": new issues,
    auto-resolve) and for integrations acting through the API; only the latter is our echo.
    """
    if report.actor_type != "application" or report.actor_id in (None, "sentry"):
        return False
    return own_app_id is None or report.actor_id == own_app_id


def note_for(issue: Issue, report: IssueReport, previous_status: str) -> ThreadNote | None:
    """Decide the thread reply for an issue webhook; None for routine updates."""
    who = safe(report.actor_name or "someone", 200)
    name = safe(issue.short_id or issue.id, 200)
    if report.action == "resolved" and previous_status != "resolved":
        how = report.extra.get("resolution_type")
        detail = f" ({safe(str(how).replace('_', ' '), 100)})" if how and how != "now" else ""
        return ThreadNote(f":white_check_mark: Resolved by {who}{detail}.")
    if report.action == "assigned" and report.assignee:
        return ThreadNote(f":bust_in_silhouette: Assigned to {safe(report.assignee, 300)} by {who}.")
    if report.action in ("ignored", "archived") and previous_status != "ignored":
        return ThreadNote(f":zipper_mouth_face: Archived by {who}.")
    if report.action == "unresolved":
        if previous_status == "resolved":
            # A regression is news for the whole channel, not just the thread's followers.
            return ThreadNote(
                f":rotating_light: *Regression:* {name} is happening again after it was resolved.", True
            )
        if previous_status == "ignored":
            reason = safe((report.substatus or "").replace("_", " "), 100)
            return ThreadNote(f":eyes: {name} is back from the archive{f' ({reason})' if reason else ''}.")
    return None


def status_after(report: IssueReport, current: str) -> str:
    """Return the issue status a report leaves behind."""
    by_action = {
        "resolved": "resolved",
        "ignored": "ignored",
        "archived": "ignored",
        "unresolved": "unresolved",
    }
    if report.action in by_action:
        return by_action[report.action]
    return report.status or current
