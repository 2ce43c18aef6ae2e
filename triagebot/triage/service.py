"""Recording what Sentry tells us about an issue, and queueing the Slack thread work it implies."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select
from sqlmodel import Session, col

from triagebot.db import insert_ignore, is_postgres, utcnow
from triagebot.errors import MalformedPayload
from triagebot.integrations.sentry.event import EventSummary, json_surrogate_free, summarize_event
from triagebot.integrations.sentry.webhooks import IssueReport
from triagebot.outbox.store import Outgoing, enqueue
from triagebot.triage import intake_store, rules
from triagebot.triage.models import Delivery, Issue

log = logging.getLogger(__name__)

POST_ROOT, UPDATE_ROOT, REPLY, FETCH_EVENT = (
    "slack.post_root",
    "slack.update_root",
    "slack.reply",
    "sentry.fetch_event",
)


@dataclass(frozen=True)
class Routing:
    """Where a new issue's thread goes and what we can ask Sentry."""

    channel: str
    fetch_events: bool  # a Sentry API token is configured
    sentry_web: str | None = None  # e.g. https://sentry.io/organizations/acme, to build issue links
    own_app_id: str | None = None


def delivery_key(report: IssueReport, raw_body: bytes) -> str:
    """Pick the de-duplication key Sentry's retries share (Request-ID changes on every retry)."""
    if report.event_id:
        return f"{report.key}:{report.event_id}"
    return f"{report.key}:{hashlib.sha256(raw_body).hexdigest()}"


def record_delivery(
    session: Session, *, source: str, key: str, resource: str, action: str | None, body: bytes
) -> bool:
    """Store a webhook delivery; return False when the same delivery was already stored."""
    return insert_ignore(
        session,
        Delivery,
        {
            "source": source,
            "key": key[:200],
            "resource": resource,
            "action": action,
            "outcome": "accepted",
            "body": body.decode("utf-8", "replace"),
            "received_at": utcnow(),
        },
        ["source", "key"],
    )


# Built once with a bound id, so each call reuses the compiled statement instead of rebuilding it.
_LOAD_ISSUE = select(Issue).where(col(Issue.id) == bindparam("issue_id"))
_LOCK_ISSUE = _LOAD_ISSUE.with_for_update()


def lock_issue(session: Session, issue_id: str) -> Issue | None:
    """Load an issue, locking its row on PostgreSQL so concurrent reports apply one at a time."""
    stmt = _LOCK_ISSUE if is_postgres(session) else _LOAD_ISSUE
    return session.execute(stmt, {"issue_id": issue_id}).scalar_one_or_none()


def record_report(session: Session, *, report: IssueReport, routing: Routing) -> str:
    """Apply one Sentry report to its issue and queue the thread work; return what happened."""
    if rules.is_own_echo(report, routing.own_app_id):
        return "echo"
    event = _event_of(report)
    created = insert_ignore(
        session,
        Issue,
        {
            "id": report.issue_id,
            "title": report.title or "",
            "channel": routing.channel,
            "flags": [],
            "created_at": utcnow(),
            "updated_at": utcnow(),
        },
        ["id"],
    )
    issue = lock_issue(session, report.issue_id)
    assert issue is not None
    previous = issue.status
    _apply(issue, report, event, routing, created=created)
    issue.updated_at = utcnow()
    session.add(issue)
    session.flush()
    if created:
        if event is None and routing.fetch_events:
            enqueue(session, FETCH_EVENT, {"issue_id": issue.id}, ordering_key=_thread(issue)["ordering_key"])
        enqueue(session, POST_ROOT, {"issue_id": issue.id}, dedupe_key=f"root:{issue.id}", **_thread(issue))
        return "opened"
    note = rules.note_for(issue, report, previous) if report.resource == "issue" else None
    if note is not None:
        queue_reply(session, issue, note.text, broadcast=note.broadcast)
    queue_root_edit(session, issue)
    return "updated"


@dataclass(frozen=True)
class Webhook:
    """One accepted Sentry webhook on its way to the store."""

    report: IssueReport
    body: bytes
    routing: Routing

    @property
    def key(self) -> str:
        """The delivery's de-duplication key, as stored."""
        return delivery_key(self.report, self.body)[:200]


def record_webhook(session: Session, webhook: Webhook) -> str:
    """Store one delivery and apply it unless it is a duplicate; return what happened."""
    report = webhook.report
    fresh = record_delivery(
        session,
        source="sentry",
        key=webhook.key,
        resource=report.resource,
        action=report.action,
        body=webhook.body,
    )
    return record_report(session, report=report, routing=webhook.routing) if fresh else "duplicate"


def record_webhooks(conn: Connection, webhooks: Sequence[Webhook]) -> list[str]:
    """Do what `record_webhook` does for each webhook in turn, in a few statements; return the outcomes."""
    batch, store = IntakeBatch(webhooks), intake_store.CoreStore(conn)
    batch.delivered(*store.deliver(batch.deliveries, batch.ids))
    if batch.todo:
        if new := batch.new_issues():
            batch.created(store.create(new), store.load(sorted(row["id"] for row in new)))
        store.write(*batch.apply())
    return batch.outcomes


async def record_webhooks_async(store: intake_store.PostgresIntake, webhooks: Sequence[Webhook]) -> list[str]:
    """The same on PostgreSQL's asyncio driver, committed before it returns (see PostgresIntake)."""
    batch = IntakeBatch(webhooks)
    async with store.transaction() as tx:
        batch.delivered(*await tx.deliver(batch.deliveries, batch.ids))
        if batch.todo:
            if new := batch.new_issues():
                batch.created(await tx.create(new), await tx.load(sorted(row["id"] for row in new)))
            await tx.write(*batch.apply())
    return batch.outcomes


class IntakeBatch:
    """What a batch of webhooks changes, worked out between the store's reads and its writes.

    The store writes the deliveries and reads the issues they name; the batch then applies each new
    webhook in turn exactly as `record_webhook` would, and hands back the issues and outbox rows to
    write. Keys and ids go in sorted order, so concurrent batches on PostgreSQL lock rows in the
    same order.
    """

    def __init__(self, webhooks: Sequence[Webhook]) -> None:
        self.webhooks = webhooks
        self.now = utcnow()
        self.outcomes = ["duplicate"] * len(webhooks)
        self.first: dict[str, int] = {}  # a delivery key -> the first webhook of the batch carrying it
        for n, webhook in enumerate(webhooks):
            self.first.setdefault(webhook.key, n)
        self.deliveries = [
            {
                "key": key,
                "resource": webhooks[n].report.resource,
                "action": webhooks[n].report.action,
                "body": webhooks[n].body.decode("utf-8", "replace"),
                "received_at": self.now,
            }
            for key, n in sorted(self.first.items())
        ]
        self.ids = sorted({webhook.report.issue_id for webhook in webhooks})
        self.todo: list[int] = []
        self.issues: dict[str, Any] = {}
        self.opening: set[str] = set()

    def delivered(self, stored: set[str], issues: dict[str, Any]) -> None:
        """Take the keys of the deliveries just stored (the others are duplicates) and the issues read."""
        self.issues = issues
        for key, n in sorted(self.first.items(), key=lambda item: item[1]):
            if key not in stored:
                continue
            if rules.is_own_echo(self.webhooks[n].report, self.webhooks[n].routing.own_app_id):
                self.outcomes[n] = "echo"
            else:
                self.todo.append(n)

    def new_issues(self) -> list[dict[str, Any]]:
        """The rows of the issues to open: named by a new webhook, not stored yet."""
        firsts: dict[str, Webhook] = {}
        for n in self.todo:
            if self.webhooks[n].report.issue_id not in self.issues:
                firsts.setdefault(self.webhooks[n].report.issue_id, self.webhooks[n])
        return [
            {
                "id": issue_id,
                "title": webhook.report.title or "",
                "channel": webhook.routing.channel,
                "flags": [],
                "created_at": self.now,
                "updated_at": self.now,
            }
            for issue_id, webhook in sorted(firsts.items())
        ]

    def created(self, created: set[str], loaded: dict[str, Any]) -> None:
        """Take the ids inserted by this batch (another instance may have won some) and the rows read."""
        self.opening = created
        self.issues.update(loaded)

    def apply(self) -> tuple[list[Any], datetime, list[Outgoing]]:
        """Apply each new webhook in turn; return the issues to write back, the time, and the outbox rows."""
        outgoing: list[Outgoing] = []
        touched: dict[str, Any] = {}
        for n in self.todo:
            report, routing = self.webhooks[n].report, self.webhooks[n].routing
            issue = touched.setdefault(report.issue_id, self.issues[report.issue_id])
            event = _event_of(report, surrogate_free=json_surrogate_free(self.webhooks[n].body))
            opened = report.issue_id in self.opening
            self.opening.discard(report.issue_id)  # only the first report of a new issue opens it
            previous = issue.status
            _apply(issue, report, event, routing, created=opened)
            if event is not None:  # as in _apply: an event that cannot be read leaves latest_event alone
                issue.new_event = True
            thread = _thread(issue)
            if opened:
                if event is None and routing.fetch_events:
                    outgoing.append(
                        Outgoing(FETCH_EVENT, {"issue_id": issue.id}, ordering_key=thread["ordering_key"])
                    )
                outgoing.append(
                    Outgoing(POST_ROOT, {"issue_id": issue.id}, dedupe_key=f"root:{issue.id}", **thread)
                )
                self.outcomes[n] = "opened"
                continue
            note = rules.note_for(issue, report, previous) if report.resource == "issue" else None
            if note is not None:
                payload = {"issue_id": issue.id, "text": note.text, "broadcast": note.broadcast}
                outgoing.append(Outgoing(REPLY, payload, **thread))
            outgoing.append(
                Outgoing(UPDATE_ROOT, {"issue_id": issue.id}, dedupe_key=f"~root-edit:{issue.id}", **thread)
            )
            self.outcomes[n] = "updated"
        return [touched[issue_id] for issue_id in sorted(touched)], self.now, outgoing


def _thread(issue: Issue) -> dict[str, Any]:
    """Outbox routing for an issue's thread: one order per issue, one rate limit per channel."""
    return {"ordering_key": f"issue:{issue.id}", "lane": f"slack:{issue.channel}"}


def queue_reply(
    session: Session, issue: Issue, text: str, *, broadcast: bool = False, dedupe_key: str | None = None
) -> bool:
    """Queue a reply in the issue's thread (`text` is mrkdwn with outside values already escaped)."""
    payload = {"issue_id": issue.id, "text": text, "broadcast": broadcast}
    return enqueue(session, REPLY, payload, dedupe_key=dedupe_key, **_thread(issue))


def queue_root_edit(session: Session, issue: Issue) -> None:
    """Queue an edit of the root message; while one waits, later changes only alter what it renders."""
    enqueue(
        session, UPDATE_ROOT, {"issue_id": issue.id}, dedupe_key=f"~root-edit:{issue.id}", **_thread(issue)
    )


def _event_of(report: IssueReport, *, surrogate_free: bool = False) -> EventSummary | None:
    if report.event is None:
        return None
    try:
        return summarize_event(report.event, surrogate_free=surrogate_free)
    except MalformedPayload:
        log.warning("issue %s: event could not be read; thread shows issue fields only", report.issue_id)
        return None


def _apply(
    issue: Issue, report: IssueReport, event: EventSummary | None, routing: Routing, *, created: bool
) -> None:
    """Copy what the report knows onto the issue, never replacing a known value with nothing."""
    for name in (
        "short_id",
        "culprit",
        "level",
        "substatus",
        "platform",
        "project_slug",
        "project_id",
        "web_url",
    ):
        value = getattr(report, name)
        if value:
            setattr(issue, name, value)
    if report.title and (report.resource == "issue" or not issue.title):
        issue.title = report.title
    issue.status = rules.status_after(report, issue.status)
    if report.action == "assigned" or (report.resource == "issue" and report.assignee):
        issue.assignee = report.assignee
    if report.first_seen and (issue.first_seen is None or report.first_seen < issue.first_seen):
        issue.first_seen = report.first_seen
    if report.last_seen and (issue.last_seen is None or report.last_seen > issue.last_seen):
        issue.last_seen = report.last_seen
    if report.event is not None:
        issue.events_seen += 1  # event webhooks carry no totals; each distinct event counts once
    # Sentry's own total may or may not include the events we saw, so neither is added to the other.
    issue.event_count = max(issue.event_count, issue.events_seen, report.event_count or 0)
    if report.user_count is not None:
        issue.user_count = max(issue.user_count, report.user_count)
    if issue.web_url is None and routing.sentry_web:
        issue.web_url = f"{routing.sentry_web}/issues/{issue.id}/"
    if event is not None:
        apply_event(issue, event, report.event or {})


def apply_event(issue: Issue, event: EventSummary, raw: dict[str, Any]) -> None:
    """Keep the newest event's details: environment, release, flags and the raw event for drafts."""
    issue.environment = event.environment or issue.environment
    issue.release = event.release or issue.release
    issue.flags = [[key, value] for key, value in event.flags]
    issue.latest_event = raw
    issue.latest_event_id = event.event_id or issue.latest_event_id
    issue.platform = issue.platform or event.platform
    issue.culprit = issue.culprit or event.culprit
    issue.level = issue.level or event.level
    if not issue.title and event.title:
        issue.title = event.title
    if not issue.short_id and event.short_id:
        issue.short_id = event.short_id


def get_issue_or_raise(session: Session, issue_id: str) -> Issue:
    """Return an issue or raise LookupError."""
    issue = session.get(Issue, issue_id)
    if issue is None:
        raise LookupError(f"no Sentry issue {issue_id} is known")
    return issue
