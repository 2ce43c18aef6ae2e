"""The **Roll back flag** button on a thread: ack at once, record the rollback, reply from the outbox."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App

from triagebot.db import transaction
from triagebot.errors import BadInput
from triagebot.flags.notice import parse_rollback_value
from triagebot.flags.service import rollback_from_thread
from triagebot.messages import ids

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

log = logging.getLogger(__name__)
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def register(app: App, services: Services) -> None:
    """Attach the rollback button's listener."""

    @app.action(ids.ROLLBACK_FLAG)
    def rollback(ack: Ack, body: dict[str, Any]) -> None:
        ack()
        handle_rollback(services, body)


def handle_rollback(services: Services, body: dict[str, Any]) -> str:
    """Roll back the flag a button names, as the user who clicked; return what happened."""
    actions = body.get("actions") or [{}]
    user = str((body.get("user") or {}).get("id", ""))
    try:
        environment, key, issue_id = parse_rollback_value(str(actions[0].get("value", "")))
    except ValueError:
        log.warning("rollback button with an unreadable value ignored")
        return "ignored"
    if not SLACK_USER.match(user):
        log.warning("rollback button without a Slack user ignored")
        return "ignored"
    try:
        with transaction(services.sessions) as session:
            rollback_from_thread(session, key=key, environment=environment, issue_id=issue_id, user_id=user)
    except BadInput as exc:
        log.warning("rollback of %s refused: %s", key, exc)
        return "refused"
    services.outbox.kick()
    return "rolled_back"
