"""Forgetting what is no longer useful: old webhook deliveries, settled outbox rows, gate evidence files."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete
from sqlmodel import col

from triagebot.db import affected, transaction, utcnow
from triagebot.jobs.registry import CronTrigger, job
from triagebot.outbox.models import DONE, OutboxMessage
from triagebot.triage.models import Delivery

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

# Sentry and GitHub retry within hours; a month of deliveries covers any retry and leaves room to look back.
KEEP_DELIVERIES = timedelta(days=30)
KEEP_EVIDENCE = timedelta(days=30)


def delete_old_rows(services: Services, *, now: datetime) -> tuple[int, int]:
    """Delete deliveries and delivered outbox rows past their keep period; return both counts."""
    cutoff = now - KEEP_DELIVERIES
    with transaction(services.sessions) as session:
        deliveries = affected(session.execute(delete(Delivery).where(col(Delivery.received_at) < cutoff)))
        # Dead rows stay: people need to see (and revive) what failed for good.
        outbox = affected(
            session.execute(
                delete(OutboxMessage).where(
                    col(OutboxMessage.status) == DONE, col(OutboxMessage.done_at) < cutoff
                )
            )
        )
    return deliveries, outbox


def delete_old_evidence(root: Path, *, now: datetime) -> int:
    """Delete evidence files (screenshots, traces) older than KEEP_EVIDENCE under `root`; return how many."""
    if not root.is_dir():
        return 0
    cutoff = (now - KEEP_EVIDENCE).timestamp()
    removed = 0
    # os.walk does not follow symlinks, and unlinking a symlink removes the link, never its target.
    for folder, dirs, files in os.walk(root, topdown=False):
        for name in files:
            path = Path(folder) / name
            if path.lstat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        for name in dirs:
            child = Path(folder) / name
            if not child.is_symlink() and not any(child.iterdir()):
                child.rmdir()
    return removed


@job(
    "cleanup",
    CronTrigger(hour=3, minute=30),
    "Delete old deliveries, delivered outbox rows and evidence",
    900,
)
def cleanup(services: Services) -> str:
    """Delete what is past its keep period."""
    now = utcnow()
    deliveries, outbox = delete_old_rows(services, now=now)
    files = delete_old_evidence(services.settings.data_dir / "evidence", now=now)
    return f"deleted {deliveries} deliveries, {outbox} outbox rows, {files} evidence files"
