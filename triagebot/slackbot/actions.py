"""Listeners for the thread's buttons and the "Won't test" modal.

Each acks before any I/O, then records the click in one short transaction; the outbound work (GitHub,
Sentry, Slack) runs from the outbox rows it enqueued. Bolt answers Slack at the ack while the listener
goes on (on `Services.listeners`, which a shutdown waits for), so no database or network stall can
make Slack show the person an error. Bolt runs on a worker thread (web/slack.py), never on the loop.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App

from triagebot.backfill import service
from triagebot.db import reading, transaction
from triagebot.errors import DeliveryError
from triagebot.messages import blocks, ids
from triagebot.slackbot import modals
from triagebot.triage.models import Issue

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

log = logging.getLogger(__name__)


def _click(body: dict[str, Any], action: dict[str, Any]) -> tuple[str, str, str]:
    """Return (issue id, clicking user, channel) of a button click."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    return str(action.get("value") or ""), str((body.get("user") or {}).get("id") or ""), str(channel)


def register(app: App, services: Services) -> None:
    """Attach the button and modal listeners."""

    @app.action(ids.CREATE_TEST)
    def create_test(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        issue_id, user, channel = _click(body, action)
        with transaction(services.sessions) as session:
            outcome = service.request_test(session, issue_id=issue_id, user=user, channel=channel)
        services.outbox.kick()
        log.info("create test for issue %s by %s: %s", issue_id, user, outcome)

    def sentry_button(kind: str) -> Any:
        def listener(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
            ack()
            issue_id, user, channel = _click(body, action)
            with transaction(services.sessions) as session:
                service.request_sentry_change(
                    session, kind=kind, issue_id=issue_id, user=user, channel=channel
                )
            services.outbox.kick()

        return listener

    app.action(ids.ASSIGN_ME)(sentry_button(service.SENTRY_ASSIGN))
    app.action(ids.RESOLVE)(sentry_button(service.SENTRY_RESOLVE))
    app.action(ids.ARCHIVE)(sentry_button(service.SENTRY_ARCHIVE))

    @app.action(ids.ASSIGN_USER)
    def assign_user(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        _issue, user, channel = _click(body, action)
        issue_id = blocks.issue_of_block(action.get("block_id"))
        target = str(action.get("selected_user") or "")
        if issue_id and target:
            with transaction(services.sessions) as session:
                service.request_sentry_change(
                    session,
                    kind=service.SENTRY_ASSIGN,
                    issue_id=issue_id,
                    user=user,
                    channel=channel,
                    target=target,
                )
            services.outbox.kick()

    @app.action(ids.WONT_TEST)
    def wont_test(ack: Ack, body: dict[str, Any], action: dict[str, Any]) -> None:
        ack()
        issue_id, user, channel = _click(body, action)
        with reading(services.sessions) as session:
            issue = session.get(Issue, issue_id)
            name = (issue.short_id or issue.id) if issue is not None else issue_id
        # The trigger_id expires three seconds after the click, so the modal cannot wait for the outbox.
        try:
            services.chat.open_view(
                trigger_id=str(body.get("trigger_id") or ""),
                view=modals.wont_test_view(issue_id=issue_id, name=name, channel=channel or None),
            )
        except DeliveryError as exc:
            log.warning("won't-test modal for issue %s not opened: %s", issue_id, exc)
            with transaction(services.sessions) as session:
                service.tell(
                    session, channel=channel, user=user, text="Could not open the form; please click again."
                )
            services.outbox.kick()

    @app.view(ids.WONT_TEST_VIEW)
    def wont_test_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = modals.submitted_reason(view)
        issue_id, _channel = modals.submitted_issue(view)
        if not reason:
            ack(
                response_action="errors",
                errors={modals.REASON_BLOCK: "Say why, so others know it was on purpose."},
            )
            return
        if issue_id is None:
            ack(
                response_action="errors",
                errors={modals.REASON_BLOCK: "This form lost its issue; open it again."},
            )
            return
        ack()  # closes the modal; the reason is stored just after
        user = str((body.get("user") or {}).get("id") or "")
        with transaction(services.sessions) as session:
            service.record_wont_test(session, issue_id=issue_id, reason=reason, user=user)
        services.outbox.kick()

    @app.action(ids.OPEN_SENTRY)
    @app.action(ids.VIEW_TEST_PR)
    def open_link(ack: Ack) -> None:
        # A URL button still sends block_actions; Slack shows a warning unless it is acknowledged.
        ack()
