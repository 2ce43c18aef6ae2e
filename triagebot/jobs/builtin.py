"""The scheduled jobs of the triage flow: outbox retries and the Sentry reconcile."""

from __future__ import annotations

from typing import TYPE_CHECKING

from triagebot.backfill.prs import sync_open_pulls
from triagebot.jobs.reconcile import reconcile_missed
from triagebot.jobs.registry import IntervalTrigger, job

if TYPE_CHECKING:
    from triagebot.bootstrap import Services


@job("outbox", IntervalTrigger(seconds=30), "Deliver outbox rows that are due (retries after failures)", 300)
def deliver_outbox(services: Services) -> str:
    """Deliver everything due now; the in-process worker does this too, this catches stragglers."""
    return f"delivered {services.outbox.drain()} rows"


@job(
    "sentry-reconcile",
    IntervalTrigger(minutes=10),
    "Open threads for Sentry issues whose webhooks were missed",
    600,
)
def sentry_reconcile(services: Services) -> str:
    """List recent unresolved issues from Sentry and open threads for unknown ones."""
    if services.sentry is None:
        return "skipped: no Sentry API token"
    opened = reconcile_missed(services)
    services.outbox.kick()
    return f"opened {opened} missed threads"


@job("pr-sync", IntervalTrigger(minutes=15), "Reconcile draft test PRs whose webhooks were missed", 600)
def pr_sync(services: Services) -> str:
    """Ask the code host about every open or closed draft PR and apply merges and closes."""
    return sync_open_pulls(services.sessions, services.code_host, services.outbox)
