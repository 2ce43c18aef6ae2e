"""Recording what Sentry tells us about an issue, and queueing the Slack thread work it implies."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from triagebot.db import insert_ignore, is_postgres, utcnow
from triagebot.errors import MalformedPayload
from triagebot.integrations.sentry.event import SentryEvent, json_surrogate_free, normalize_event
from triagebot.integrations.sentry.webhooks import IssueReport
from triagebot.outbox.store import Outgoing, enqueue, enqueue_many
from triagebot.triage import rules
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
    """Do what `record_webhook` does for each webhook in turn, in a few statements; return the outcomes.

    Core statements run with many parameter sets at once (no ORM objects): the deliveries, the new
    issues, one read of the issues touched, one update of them and one insert of their outbox rows.
    Keys and ids go in sorted order, so concurrent batches on PostgreSQL lock rows in the same order.
    """
    postgres = is_postgres(conn)
    now = utcnow()
    outcomes = ["duplicate"] * len(webhooks)
    first: dict[str, int] = {}  # a delivery key -> the first webhook of the batch carrying it
    for n, webhook in enumerate(webhooks):
        first.setdefault(webhook.key, n)
    deliveries = [
        {
            "key": key,
            "resource": webhooks[n].report.resource,
            "action": webhooks[n].report.action,
            "body": webhooks[n].body.decode("utf-8", "replace"),
            "received_at": now,
        }
        for key, n in sorted(first.items())
    ]
    stored = set(conn.execute(_statements(postgres).deliveries, deliveries).scalars())
    todo: list[int] = []
    for key, n in sorted(first.items(), key=lambda item: item[1]):
        if key not in stored:
            continue
        if rules.is_own_echo(webhooks[n].report, webhooks[n].routing.own_app_id):
            outcomes[n] = "echo"
        else:
            todo.append(n)
    if not todo:
        return outcomes
    issues, created = _load_or_create(conn, postgres, [webhooks[n] for n in todo], now)
    outgoing: list[Outgoing] = []
    new_event: set[str] = set()
    for n in todo:
        report, routing = webhooks[n].report, webhooks[n].routing
        issue = issues[report.issue_id]
        event = _event_of(report, surrogate_free=json_surrogate_free(webhooks[n].body))
        opened = report.issue_id in created
        created.discard(report.issue_id)  # only the first report of a new issue opens it
        previous = issue.status
        _apply(issue, report, event, routing, created=opened)
        if event is not None:  # as in _apply: an event that cannot be read leaves latest_event alone
            new_event.add(issue.id)
        thread = _thread(issue)
        if opened:
            if event is None and routing.fetch_events:
                outgoing.append(
                    Outgoing(FETCH_EVENT, {"issue_id": issue.id}, ordering_key=thread["ordering_key"])
                )
            outgoing.append(
                Outgoing(POST_ROOT, {"issue_id": issue.id}, dedupe_key=f"root:{issue.id}", **thread)
            )
            outcomes[n] = "opened"
            continue
        note = rules.note_for(issue, report, previous) if report.resource == "issue" else None
        if note is not None:
            payload = {"issue_id": issue.id, "text": note.text, "broadcast": note.broadcast}
            outgoing.append(Outgoing(REPLY, payload, **thread))
        outgoing.append(
            Outgoing(UPDATE_ROOT, {"issue_id": issue.id}, dedupe_key=f"~root-edit:{issue.id}", **thread)
        )
        outcomes[n] = "updated"
    statements = _statements(postgres)
    for with_event, statement in ((True, statements.update_with_event), (False, statements.update)):
        rows = [
            _update_row(issue, now, with_event)
            for issue_id, issue in sorted(issues.items())
            if (issue_id in new_event) == with_event
        ]
        if rows:
            conn.execute(statement, rows)
    enqueue_many(conn, outgoing)
    return outcomes


# The columns an intake batch reads and writes back (`latest_event` is only written, when it changes).
_STATE = (
    "id",
    "title",
    "short_id",
    "culprit",
    "level",
    "status",
    "substatus",
    "platform",
    "project_slug",
    "project_id",
    "environment",
    "release",
    "event_count",
    "events_seen",
    "user_count",
    "first_seen",
    "last_seen",
    "web_url",
    "assignee",
    "flags",
    "latest_event_id",
    "channel",
)


@dataclass(frozen=True)
class _Statements:
    deliveries: Any
    new_issues: Any
    load: Any
    update: Any
    update_with_event: Any


@functools.cache
def _statements(postgres: bool) -> _Statements:
    """Build the batch's statements once per dialect, with bound parameters, so they compile once."""
    insert = postgresql.insert if postgres else sqlite.insert
    deliveries, issues = Delivery.__table__, Issue.__table__  # type: ignore[attr-defined]
    load = select(*(issues.c[name] for name in _STATE)).where(
        issues.c.id.in_(bindparam("ids", expanding=True))
    )
    if postgres:
        load = load.order_by(issues.c.id).with_for_update()  # concurrent reports apply one at a time
    written = [name for name in _STATE if name not in ("id", "channel")] + ["updated_at"]
    update_issue = update(issues).where(issues.c.id == bindparam("b_id"))
    return _Statements(
        deliveries=insert(deliveries)
        .values(
            source="sentry",
            key=bindparam("key"),
            resource=bindparam("resource"),
            action=bindparam("action"),
            outcome=bindparam("outcome", "accepted"),
            body=bindparam("body"),
            received_at=bindparam("received_at"),
        )
        .on_conflict_do_nothing(index_elements=["source", "key"])
        .returning(deliveries.c.key),
        new_issues=insert(issues).on_conflict_do_nothing(index_elements=["id"]).returning(issues.c.id),
        load=load,
        update=update_issue.values({name: bindparam(f"b_{name}") for name in written}),
        update_with_event=update_issue.values(
            {name: bindparam(f"b_{name}") for name in [*written, "latest_event"]}
        ),
    )


def _load_or_create(
    conn: Connection, postgres: bool, webhooks: list[Webhook], now: datetime
) -> tuple[dict[str, Any], set[str]]:
    """Load (and lock) the batch's issues, inserting the missing ones; return them and the ids created."""
    statements = _statements(postgres)
    ids = sorted({webhook.report.issue_id for webhook in webhooks})
    issues = {row.id: SimpleNamespace(**row._mapping) for row in conn.execute(statements.load, {"ids": ids})}
    missing = [issue_id for issue_id in ids if issue_id not in issues]
    created: set[str] = set()
    if missing:
        firsts: dict[str, Webhook] = {}
        for webhook in webhooks:
            firsts.setdefault(webhook.report.issue_id, webhook)
        rows = [
            {
                "id": issue_id,
                "title": firsts[issue_id].report.title or "",
                "channel": firsts[issue_id].routing.channel,
                "flags": [],
                "created_at": now,
                "updated_at": now,
            }
            for issue_id in missing
        ]
        created = set(conn.execute(statements.new_issues, rows).scalars())
        # Another instance may have created some of them meanwhile; load all the missing ones now.
        for row in conn.execute(statements.load, {"ids": missing}):
            issues[row.id] = SimpleNamespace(**row._mapping)
    return issues, created


def _update_row(issue: Any, now: datetime, with_event: bool) -> dict[str, Any]:
    row = {f"b_{name}": getattr(issue, name) for name in _STATE if name != "channel"}
    row["b_updated_at"] = now
    if with_event:
        row["b_latest_event"] = issue.latest_event
    return row


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


def _event_of(report: IssueReport, *, surrogate_free: bool = False) -> SentryEvent | None:
    if report.event is None:
        return None
    try:
        return normalize_event(report.event, surrogate_free=surrogate_free)
    except MalformedPayload:
        log.warning("issue %s: event could not be read; thread shows issue fields only", report.issue_id)
        return None


def _apply(
    issue: Issue, report: IssueReport, event: SentryEvent | None, routing: Routing, *, created: bool
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


def apply_event(issue: Issue, event: SentryEvent, raw: dict[str, Any]) -> None:
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
