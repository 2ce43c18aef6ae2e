"""Enqueue, claim and settle outbox rows; portable between SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import random
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, DateTime, and_, bindparam, exists, select, true, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from triagebot import fast_json
from triagebot.db import SessionFactory, affected, insert_ignore, is_postgres, reading, transaction, utcnow
from triagebot.outbox.models import DEAD, DONE, PENDING, OutboxLane, OutboxMessage

MAX_ATTEMPTS = 15  # with capped exponential backoff this spans about two hours of outage
LEASE = timedelta(minutes=5)  # a claim older than this is presumed dead (its worker crashed)


def enqueue(
    session: Session,
    kind: str,
    payload: dict[str, Any],
    *,
    ordering_key: str | None = None,
    lane: str | None = None,
    dedupe_key: str | None = None,
    due_at: datetime | None = None,
) -> bool:
    """Add a row in the caller's transaction; return False when its dedupe key is already queued."""
    values = {
        "kind": kind,
        "payload": payload,
        "ordering_key": ordering_key,
        "lane": lane,
        "dedupe_key": dedupe_key,
        "status": PENDING,
        "attempts": 0,
        "due_at": due_at or utcnow(),
        "created_at": utcnow(),
    }
    if dedupe_key is None:
        session.add(OutboxMessage.model_validate(values))
        return True
    return insert_ignore(session, OutboxMessage, values, ["dedupe_key"])


def enqueue_many(conn: Connection, rows: Sequence[Outgoing]) -> None:
    """Add rows in the caller's transaction with one statement, in order; skip queued dedupe keys."""
    if not rows:
        return
    now = utcnow()
    values = [
        {
            "kind": row.kind,
            "payload": row.payload,
            "ordering_key": row.ordering_key,
            "lane": row.lane,
            "dedupe_key": row.dedupe_key,
            "status": PENDING,
            "attempts": 0,
            "due_at": now,
            "created_at": now,
        }
        for row in rows
    ]
    # Rows without a dedupe key never conflict (NULLs are distinct), so one statement serves both kinds.
    conn.execute(_enqueue_statement(is_postgres(conn)), values)


# One statement whatever the number of rows: each column travels as one array, so PostgreSQL prepares
# it once, and a caller can pipeline it with its other writes (triage/intake_store.PostgresIntake).
_POSTGRES_ENQUEUE = f"""
INSERT INTO outbox (kind, payload, ordering_key, lane, dedupe_key, status, attempts, due_at, created_at)
SELECT kind, payload::json, ordering_key, lane, dedupe_key, '{PENDING}', 0, %(now)s, %(now)s
FROM unnest(%(kind)b::text[], %(payload)b::text[], %(ordering_key)b::text[], %(lane)b::text[],
            %(dedupe_key)b::text[])
     WITH ORDINALITY AS batch (kind, payload, ordering_key, lane, dedupe_key, n)
ORDER BY n
ON CONFLICT (dedupe_key) DO NOTHING
"""


def postgres_enqueue(rows: Sequence[Outgoing]) -> tuple[str, dict[str, Any]]:
    """The PostgreSQL statement and parameters that do `enqueue_many` for `rows` (ids follow their order)."""
    return _POSTGRES_ENQUEUE, {
        "now": utcnow(),
        "kind": [row.kind for row in rows],
        "payload": [fast_json.dumps(row.payload) for row in rows],
        "ordering_key": [row.ordering_key for row in rows],
        "lane": [row.lane for row in rows],
        "dedupe_key": [row.dedupe_key for row in rows],
    }


@dataclass(frozen=True)
class Outgoing:
    """One row for `enqueue_many`."""

    kind: str
    payload: dict[str, Any]
    ordering_key: str | None = None
    lane: str | None = None
    dedupe_key: str | None = None


@functools.cache
def _enqueue_statement(postgres: bool) -> Any:
    table = OutboxMessage.__table__  # type: ignore[attr-defined]
    insert = postgresql.insert if postgres else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])


def claim(
    sessions: SessionFactory,
    worker: str,
    *,
    limit: int = 20,
    kinds: Collection[str] | None = None,
    skip_kinds: Collection[str] = (),
) -> list[OutboxMessage]:
    """Lease up to `limit` due rows, each the oldest pending one of its ordering key.

    `kinds` / `skip_kinds` split the work between delivery threads (quick calls vs. browser runs).
    """
    now = utcnow()
    shape = (frozenset(kinds) if kinds is not None else None, frozenset(skip_kinds))
    # Look before locking: most rounds find nothing due, and a read does not stall webhook intake.
    with reading(sessions) as session:
        if session.execute(_candidates(*shape, 1, False), {"now": now}).first() is None:
            return []
    with transaction(sessions) as session:
        ids = list(session.execute(_candidates(*shape, limit, is_postgres(session)), {"now": now}).scalars())
        if not ids:
            return []
        session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids))
            .values(claimed_until=now + LEASE, claimed_by=worker, dedupe_key=_released_key(OutboxMessage))
        )
        rows = session.execute(
            select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).order_by(col(OutboxMessage.id))
        )
        return list(rows.scalars())


@functools.cache
def _candidates(kinds: frozenset[str] | None, skip_kinds: frozenset[str], limit: int, lock: bool) -> Any:
    """The ids `claim` may take, oldest first, built once per shape (the time is a bound parameter)."""
    now = bindparam("now", type_=DateTime(timezone=True))
    earlier = aliased(OutboxMessage)
    blocked = exists().where(
        and_(
            col(earlier.ordering_key) == col(OutboxMessage.ordering_key),
            col(earlier.id) < col(OutboxMessage.id),
            col(earlier.status) == PENDING,
        )
    )
    # Rows whose lane is still closed stay put: claiming them only to put them back costs a write each.
    lane_closed = exists().where(
        col(OutboxLane.lane) == col(OutboxMessage.lane), col(OutboxLane.next_at) > now
    )
    candidates = (
        select(col(OutboxMessage.id))
        .where(col(OutboxMessage.status) == PENDING, col(OutboxMessage.due_at) <= now)
        .where(col(OutboxMessage.claimed_until).is_(None) | (col(OutboxMessage.claimed_until) < now))
        .where(~blocked, ~lane_closed)
        .where(col(OutboxMessage.kind).in_(kinds) if kinds is not None else true())
        .where(col(OutboxMessage.kind).not_in(skip_kinds) if skip_kinds else true())
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    # SKIP LOCKED (PostgreSQL) lets several instances claim disjoint rows without waiting on each other.
    return candidates.with_for_update(skip_locked=True) if lock else candidates


def extend_claim(sessions: SessionFactory, message_id: int, worker: str) -> bool:
    """Renew a claim the worker still holds (a long handler's heartbeat); return False if it was lost."""
    with transaction(sessions) as session:
        renewed = session.execute(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id) == message_id,
                col(OutboxMessage.claimed_by) == worker,
                col(OutboxMessage.status) == PENDING,
            )
            .values(claimed_until=utcnow() + LEASE)
        )
        return affected(renewed) > 0


def _released_key(model: type[OutboxMessage]) -> Any:
    """Clear coalescing keys (`~` prefix) on claim; keep the permanent ones."""
    from sqlalchemy import case

    return case((col(model.dedupe_key).like("~%"), None), else_=model.dedupe_key)


def release(sessions: SessionFactory, ids: Sequence[int]) -> None:
    """Hand claimed rows back untouched (their lane closed while they waited in a batch)."""
    if ids:
        with transaction(sessions) as session:
            session.execute(
                update(OutboxMessage).where(col(OutboxMessage.id).in_(ids)).values(claimed_until=None)
            )


def take_lane_slot(session: Session, lane: str, interval: float) -> datetime | None:
    """Reserve the lane's next slot; return None on success or the time the lane frees up."""
    now = utcnow()
    insert_ignore(session, OutboxLane, {"lane": lane, "next_at": now}, ["lane"])
    taken = session.execute(
        update(OutboxLane)
        .where(col(OutboxLane.lane) == lane, col(OutboxLane.next_at) <= now)
        .values(next_at=now + timedelta(seconds=interval))
    )
    if affected(taken):
        return None
    return session.execute(select(col(OutboxLane.next_at)).where(col(OutboxLane.lane) == lane)).scalar_one()


def push_lane(session: Session, lane: str, until: datetime) -> None:
    """Hold a lane closed until `until` (a 429's Retry-After applies to the whole channel)."""
    insert_ignore(session, OutboxLane, {"lane": lane, "next_at": until}, ["lane"])
    session.execute(
        update(OutboxLane)
        .where(col(OutboxLane.lane) == lane, col(OutboxLane.next_at) < until)
        .values(next_at=until)
    )


def backoff(attempts: int) -> float:
    """Return seconds to wait after `attempts` failures: exponential, capped at 10 minutes, jittered."""
    base: float = min(600.0, 2.0 ** max(0, attempts - 1))
    return base * (0.75 + random.random() / 2)


def settle_done(session: Session, message_id: int) -> None:
    """Mark a row delivered."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(status=DONE, done_at=utcnow(), claimed_until=None, last_error=None)
    )


def settle_later(session: Session, message: OutboxMessage, delay: float, error: str, *, count: bool) -> str:
    """Put a row back for another try after `delay` seconds, or bury it after too many; return its status."""
    attempts = message.attempts + (1 if count else 0)
    status = DEAD if attempts >= MAX_ATTEMPTS else PENDING
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id)
        .values(
            status=status,
            attempts=attempts,
            due_at=utcnow() + timedelta(seconds=delay),
            claimed_until=None,
            last_error=error[:2000],
        )
    )
    return status


def settle_dead(session: Session, message_id: int, error: str) -> None:
    """Bury a row that retrying cannot help; it stays visible for people to act on."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id)
        .values(status=DEAD, claimed_until=None, last_error=error[:2000], done_at=utcnow())
    )


def pending_count(session: Session) -> int:
    """Count rows still waiting for delivery."""
    from sqlalchemy import func

    return session.execute(
        select(func.count()).select_from(OutboxMessage).where(col(OutboxMessage.status) == PENDING)
    ).scalar_one()


def revive(session: Session, ids: Sequence[int]) -> int:
    """Put buried rows back in the queue (after the cause was fixed); return how many."""
    result = session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == DEAD)
        .values(status=PENDING, attempts=0, due_at=utcnow(), done_at=None)
    )
    return affected(result)
