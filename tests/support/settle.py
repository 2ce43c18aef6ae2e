"""Run what the background threads would: apply stored Sentry webhooks, then deliver the outbox."""

from __future__ import annotations

from sqlmodel import col, select

from triagebot.bootstrap import Services
from triagebot.triage.models import Delivery


def settle(services: Services) -> int:
    """Apply every stored webhook, then deliver what is due; return how many outbox rows went out."""
    services.inbox.drain()
    return services.outbox.drain()


def outcomes(services: Services) -> list[str]:
    """Return what each stored Sentry webhook led to, in arrival order."""
    with services.sessions() as session:
        rows = session.execute(
            select(Delivery.outcome).where(Delivery.source == "sentry").order_by(col(Delivery.id))
        )
        return list(rows.scalars())
