"""Listeners for the thread's buttons. Each acks at once; the work runs from the outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App

from triagebot.slackbot import ids

if TYPE_CHECKING:
    from triagebot.bootstrap import Services


def register(app: App, services: Services) -> None:
    """Attach the button listeners."""
    del services

    def _ack_only(ack: Ack, body: dict[str, Any]) -> None:
        ack()

    for action_id in (ids.CREATE_TEST, ids.ASSIGN_ME, ids.RESOLVE, ids.WONT_TEST, ids.OPEN_SENTRY):
        app.action(action_id)(_ack_only)
