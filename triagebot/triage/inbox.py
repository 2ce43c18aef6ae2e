"""The Sentry inbox: webhooks are stored as they arrive, then applied to issues in arrival order.

Intake only verifies, parses and stores (concurrent requests share one commit), so a burst is
answered at the speed of the web server and Sentry, which does not retry, never times out on us.
The inbox then applies the stored deliveries in batches, one transaction a batch, and queues the
thread work they imply. A delivery stays in the table until the commit that applies it, so
restarts and outages lose nothing.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from triagebot.db import InsertIgnore, SessionFactory, is_postgres, reading, transaction, utcnow
from triagebot.integrations.sentry.webhooks import IssueReport, parse_legacy, parse_webhook
from triagebot.triage import service
from triagebot.triage.models import Delivery

log = logging.getLogger(__name__)

SOURCE = "sentry"
LEGACY = "legacy"  # the `resource` stored for legacy-plugin bodies, which name none
# Applying holds a write transaction (SQLite's only writer), so batches stay short for intake's sake.
BATCH = 2
# While webhooks queue up in this process, answering them comes first and applying them waits,
# but never longer than this: past it the inbox works through the backlog whatever the load.
MAX_DEFER_SECONDS = 2.0
# Requests overlapping within this window mean intake is under load.
CROWDED_SECONDS = 0.05
# One PostgreSQL advisory lock: a single applier at a time keeps arrival order across instances.
LOCK_KEY = 0x7472_6961_6765  # "triage"

RoutingFor = Callable[[IssueReport], service.Routing]


@dataclass(frozen=True)
class Arrival:
    """A verified, parsed webhook waiting to be stored."""

    key: str  # the de-duplication key Sentry's retries share
    resource: str  # Sentry-Hook-Resource, or LEGACY
    action: str | None
    issue_id: str
    body: bytes


@dataclass(frozen=True)
class Applied:
    """What applying one stored delivery did."""

    delivery_id: int
    issue_id: str | None
    outcome: str  # opened | updated | echo | failed


def store(sessions: SessionFactory, arrivals: Sequence[Arrival]) -> list[bool]:
    """Store arrivals in one transaction; return for each whether it is new (not a retry of a stored one)."""
    now = utcnow()
    rows: dict[str, dict[str, object]] = {}
    for arrival in arrivals:
        key = arrival.key[:200]
        rows.setdefault(
            key,
            {
                "source": SOURCE,
                "key": key,
                "resource": arrival.resource,
                "action": arrival.action,
                "outcome": "queued",
                "issue_id": arrival.issue_id[:64],
                "body": arrival.body.decode("utf-8", "replace"),
                "received_at": now,
                "processed_at": None,
            },
        )
    inserted = _inserter(sessions)(list(rows.values()))
    fresh = []
    for arrival in arrivals:  # the same delivery twice in one batch: the first one is the new one
        key = arrival.key[:200]
        fresh.append(key in inserted)
        inserted.discard(key)
    return fresh


_INSERTERS: weakref.WeakKeyDictionary[Engine, InsertIgnore] = weakref.WeakKeyDictionary()


def _inserter(sessions: SessionFactory) -> InsertIgnore:
    """The prepared delivery insert for this database (compiled once per engine)."""
    engine = sessions.kw["bind"]
    if engine not in _INSERTERS:
        _INSERTERS[engine] = InsertIgnore(engine, Delivery, ["source", "key"], "key")
    return _INSERTERS[engine]


def report_of(delivery: Delivery) -> IssueReport:
    """Parse a stored delivery again (intake checked it, so this only fails on a bug)."""
    payload = json.loads(delivery.body)
    if delivery.resource == LEGACY:
        return parse_legacy(payload)
    return parse_webhook(delivery.resource, payload)


class Inbox:
    """Applies stored Sentry deliveries; one per process, safe to run in several."""

    def __init__(
        self,
        sessions: SessionFactory,
        routing_for: RoutingFor,
        on_applied: Callable[[list[Applied]], None] | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.routing_for = routing_for
        self.on_applied = on_applied
        self.poll_seconds = poll_seconds
        self._crowded_at = -1e9
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def arriving(self, waiting: int) -> None:
        """Note a webhook arriving while `waiting` others still wait for their commit."""
        if waiting:
            self._crowded_at = time.monotonic()

    def kick(self) -> None:
        """Wake the applier: deliveries were just stored."""
        self._wake.set()

    def busy(self) -> bool:
        """Say whether intake is under load in this process right now."""
        return time.monotonic() - self._crowded_at < CROWDED_SECONDS

    def apply(self, limit: int = BATCH) -> int | None:
        """Apply up to `limit` waiting deliveries in one transaction; return how many (None: another
        instance holds the applier lock)."""
        applied: list[Applied] = []
        with transaction(self.sessions) as session:
            if (
                is_postgres(session)
                and not session.execute(select(func.pg_try_advisory_xact_lock(LOCK_KEY))).scalar_one()
            ):
                return None
            waiting = session.execute(
                select(Delivery)
                .where(col(Delivery.processed_at).is_(None), col(Delivery.source) == SOURCE)
                .order_by(col(Delivery.id))
                .limit(limit)
            ).scalars()
            for delivery in list(waiting):
                applied.append(self._apply_one(session, delivery))
        if applied and self.on_applied is not None:
            self.on_applied(applied)
        return len(applied)

    def _apply_one(self, session: Session, delivery: Delivery) -> Applied:
        """Apply one delivery under a savepoint, so a delivery that trips a bug is set aside alone."""
        assert delivery.id is not None
        report: IssueReport | None = None
        try:
            with session.begin_nested():
                report = report_of(delivery)
                outcome = service.record_report(session, report=report, routing=self.routing_for(report))
        except SQLAlchemyError:
            raise  # the database is in trouble: roll the batch back and try again later
        except Exception:
            log.exception("sentry delivery #%s could not be applied; kept with outcome 'failed'", delivery.id)
            outcome = "failed"
        delivery.outcome = outcome
        delivery.processed_at = utcnow()
        session.add(delivery)
        return Applied(delivery.id, report.issue_id if report else delivery.issue_id, outcome)

    def drain(self) -> int:
        """Apply everything waiting, in this thread, whatever the load; return how many."""
        total = 0
        while applied := self.apply():
            total += applied
        return total

    def depth(self) -> tuple[int, float]:
        """Return how many deliveries wait and how long the oldest has waited, in seconds."""
        with reading(self.sessions) as session:
            count, oldest = session.execute(
                select(func.count(), func.min(Delivery.received_at)).where(
                    col(Delivery.processed_at).is_(None), col(Delivery.source) == SOURCE
                )
            ).one()
        return int(count), (utcnow() - oldest).total_seconds() if oldest else 0.0

    def start(self) -> None:
        """Start applying in a background thread."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="inbox", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the background thread after its current batch."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_seconds)
            self._wake.clear()
            try:
                self._work()
            except Exception:  # the database is away: keep the deliveries, try again next round
                log.exception("inbox round failed; retrying")
                self._stop.wait(self.poll_seconds)

    def _work(self) -> None:
        """Apply batches until none waits, standing aside while intake is crowded (up to the limit)."""
        deferring_since: float | None = None  # no delivery waiting now arrived before this
        while not self._stop.is_set():
            if self.busy():
                deferring_since = deferring_since or time.monotonic()
                if time.monotonic() - deferring_since < MAX_DEFER_SECONDS:
                    self._stop.wait(0.01)
                    continue
            applied = self.apply()
            if applied is None:  # another instance is applying; look again shortly
                self._stop.wait(0.05)
                continue
            if applied < BATCH:  # caught up with everything stored so far
                deferring_since = None
            if applied == 0:
                return
