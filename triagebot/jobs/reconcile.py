"""Catching up on missed webhooks: Sentry does not retry deliveries to internal integrations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from triagebot.db import transaction
from triagebot.integrations.sentry.webhooks import from_issue
from triagebot.triage import service
from triagebot.triage.models import Issue

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

WINDOW = "24h"


def reconcile_missed(services: Services) -> int:
    """Record every recent unresolved issue we have no row for; return how many were opened."""
    assert services.sentry is not None
    listed = services.sentry.list_issues(query="is:unresolved", stats_period=WINDOW)
    opened = 0
    for raw in listed:
        if not raw.get("id"):
            continue
        with transaction(services.sessions) as session:
            if session.get(Issue, str(raw["id"])) is not None:
                continue
            report = from_issue(
                raw,
                {"resource": "issue", "action": "created", "actor_type": "application", "actor_id": "sentry"},
            )
            route = services.settings.route_for(report.project_slug)
            routing = service.Routing(
                channel=route.channel or "",
                fetch_events=True,
                sentry_web=services.sentry_web,
                own_app_id=services.settings.sentry_app_id,
            )
            if service.record_report(session, report=report, routing=routing) == "opened":
                opened += 1
    return opened
