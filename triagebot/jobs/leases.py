"""Portable leases: one UPDATE ... WHERE expired-or-mine decides the holder atomically on both backends."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col

from triagebot.db import SessionFactory, affected, insert_ignore, transaction, utcnow
from triagebot.jobs.models import Lease


def acquire(sessions: SessionFactory, name: str, holder: str, ttl: float) -> bool:
    """Take or renew the lease `name` for `ttl` seconds; return True when `holder` has it."""
    now = utcnow()
    with transaction(sessions) as session:
        insert_ignore(session, Lease, {"name": name, "holder": "", "expires_at": now}, ["name"])
        result = session.execute(
            update(Lease)
            .where(col(Lease.name) == name)
            .where((col(Lease.expires_at) <= now) | (col(Lease.holder) == holder))
            .values(holder=holder, expires_at=now + timedelta(seconds=ttl))
        )
        return affected(result) > 0


def release(sessions: SessionFactory, name: str, holder: str, result: str | None = None) -> None:
    """Give a lease back early, recording how the work ended."""
    with transaction(sessions) as session:
        session.execute(
            update(Lease)
            .where(col(Lease.name) == name, col(Lease.holder) == holder)
            .values(expires_at=utcnow(), last_finished=utcnow(), last_result=(result or "ok")[:200])
        )
