"""`/triage verify <issue>`: run an existing draft's verification again and update its pull request."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from triagebot.backfill import service
from triagebot.db import transaction
from triagebot.slackbot.command_registry import Answer, Invocation, UsageError, subcommand
from triagebot.triage.models import Issue

USAGE = "/triage verify <issue>"


@subcommand("verify", USAGE, "run a drafted regression test against the buggy build again")
def verify_command(invocation: Invocation) -> Answer:
    """Queue the verification of an issue's draft (named by Sentry id or short id)."""
    words = invocation.positional()
    if len(words) != 1:
        raise UsageError("name one Sentry issue, by id (`4200000001`) or short id (`SHOP-7`)")
    wanted = words[0][:128]
    with transaction(invocation.services.sessions) as session:
        issue = (
            session.get(Issue, wanted[:64])
            or session.execute(
                select(Issue).where(func.lower(col(Issue.short_id)) == wanted.lower())
            ).scalar_one_or_none()
        )
        if issue is None:
            raise UsageError(f"no Sentry issue `{wanted}` is known here")
        text = service.request_verify(
            session, issue_id=issue.id, user=invocation.user_id, channel=invocation.channel_id
        )
    invocation.services.outbox.kick()
    return Answer(text=text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
