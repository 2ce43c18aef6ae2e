"""Outbox handlers of the triage flow: post the root message, edit it, reply, fetch the latest event."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from triagebot.db import SessionFactory, transaction
from triagebot.errors import DeliveryError, MalformedPayload
from triagebot.integrations.ports import Chat, SentryApi
from triagebot.integrations.sentry.event import summarize_event
from triagebot.messages import blocks
from triagebot.outbox.models import OutboxMessage
from triagebot.outbox.worker import Outbox
from triagebot.triage import service
from triagebot.triage.models import Issue

log = logging.getLogger(__name__)

FETCH_ATTEMPTS = 3  # a slow Sentry must not hold the thread back for long: post without the event
# Other flows add lines to the root message (the draft PR, a flag in rollout) through decorators.
Decorator = Callable[[Session, Issue], dict[str, Any]]


def root_view(issue: Issue, **extra: Any) -> blocks.RootView:
    """Build the root message's view of an issue."""
    return blocks.RootView(
        issue_id=issue.id,
        short_id=issue.short_id,
        title=issue.title,
        culprit=issue.culprit,
        level=issue.level,
        status=issue.status,
        project=issue.project_slug or issue.project_id,
        environment=issue.environment,
        release=issue.release,
        events=issue.event_count,
        users=issue.user_count,
        first_seen=issue.first_seen,
        last_seen=issue.last_seen,
        web_url=issue.web_url,
        assignee=issue.assignee,
        flags=[
            (str(pair[0]), pair[1])
            for pair in issue.flags
            if isinstance(pair, list | tuple) and len(pair) == 2
        ],
        version=issue.root_version,
        **extra,
    )


@dataclass
class ThreadDelivery:
    """Turns triage outbox rows into chat and Sentry calls."""

    sessions: SessionFactory
    chat: Chat
    sentry: SentryApi | None = None
    decorators: list[Decorator] = field(default_factory=list)
    fallback_channel: str | None = None  # where threads open when no channel is routed (the dashboard)

    def register(self, outbox: Outbox) -> None:
        """Route this flow's outbox kinds to their handlers."""
        outbox.register(service.POST_ROOT, self.post_root)
        outbox.register(service.UPDATE_ROOT, self.update_root)
        outbox.register(service.REPLY, self.reply)
        outbox.register(service.FETCH_EVENT, self.fetch_event)

    def render(self, session: Session, issue: Issue) -> tuple[str, blocks.Blocks]:
        """Render the root message with every decorator's additions."""
        extra: dict[str, Any] = {}
        for decorate in self.decorators:
            extra.update(decorate(session, issue))
        return blocks.root_message(root_view(issue, **extra))

    def post_root(self, message: OutboxMessage) -> None:
        """Open the issue's thread, unless an earlier try already did."""
        with transaction(self.sessions) as session:
            issue = service.get_issue_or_raise(session, message.payload["issue_id"])
            if issue.thread_ts:
                return
            channel = issue.channel or self.fallback_channel
            text, body = self.render(session, issue)
        if not channel:
            log.warning("issue %s: no Slack channel configured; thread not opened", issue.id)
            return
        posted = self.chat.post(channel=channel, text=text, blocks=body)
        with transaction(self.sessions) as session:
            issue = service.get_issue_or_raise(session, issue.id)
            issue.channel, issue.thread_ts = posted.channel, posted.ts
            session.add(issue)

    def update_root(self, message: OutboxMessage) -> None:
        """Edit the root message to show the issue as it is now."""
        with transaction(self.sessions) as session:
            issue = service.get_issue_or_raise(session, message.payload["issue_id"])
            if not (issue.thread_ts and issue.channel):
                return  # the root post failed for good; nothing to edit
            issue.root_version += 1
            session.add(issue)
            channel, ts = issue.channel, issue.thread_ts
            text, body = self.render(session, issue)
        self.chat.update(channel=channel, ts=ts, text=text, blocks=body)

    def reply(self, message: OutboxMessage) -> None:
        """Reply in the issue's thread (broadcast to the channel when the row says so)."""
        with transaction(self.sessions) as session:
            issue = service.get_issue_or_raise(session, message.payload["issue_id"])
            channel, ts = issue.channel, issue.thread_ts
        if not (channel and ts):
            return
        text, body = blocks.reply(message.payload["text"])
        self.chat.post(
            channel=channel,
            text=text,
            blocks=body,
            thread_ts=ts,
            broadcast=bool(message.payload.get("broadcast")),
        )

    def fetch_event(self, message: OutboxMessage) -> None:
        """Fetch an issue's latest event from Sentry so the thread and drafts have URL, crumbs and flags."""
        if self.sentry is None:
            return
        issue_id = message.payload["issue_id"]
        try:
            raw = self.sentry.latest_event(issue_id)
            event = summarize_event(raw)
        except (DeliveryError, MalformedPayload) as exc:
            if message.attempts + 1 >= FETCH_ATTEMPTS or isinstance(exc, MalformedPayload):
                log.warning("issue %s: latest event unavailable (%s); posting without it", issue_id, exc)
                return
            raise
        with transaction(self.sessions) as session:
            issue = service.get_issue_or_raise(session, issue_id)
            service.apply_event(issue, event, raw)
            session.add(issue)
