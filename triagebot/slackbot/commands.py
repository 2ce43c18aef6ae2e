"""The `/triage` slash command: ack at once, then answer through the outbox to the command's response_url."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App

from triagebot.db import transaction
from triagebot.integrations.slack_response import response_url_allowed
from triagebot.slackbot.command_registry import Answer, Invocation, UsageError, parse, usage_answer
from triagebot.slackbot.command_respond import queue_answer
from triagebot.slackbot.subcommands import dispatch

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    """Attach the `/triage` listener."""

    @app.command("/triage")
    def triage(ack: Ack, command: dict[str, Any]) -> None:
        # Slack wants the ack within 3 seconds; the answer follows through response_url.
        ack()
        answer_command(services, command)


def answer_command(services: Services, command: dict[str, Any]) -> str:
    """Run one `/triage` command and queue its answer; return the subcommand run (or why nothing was)."""
    response_url = str(command.get("response_url") or "")
    if not response_url_allowed(response_url, services.settings):
        log.warning("/triage: response_url is not a Slack hooks URL; not answering")
        return "refused"
    share = False
    try:
        name, args, share = parse(str(command.get("text") or ""))
        invocation = Invocation(
            services=services,
            name=name,
            args=args,
            user_id=str(command.get("user_id") or ""),
            channel_id=str(command.get("channel_id") or ""),
            team_domain=command.get("team_domain"),
            share=share,
        )
        answer = dispatch(invocation)
    except UsageError as exc:
        name, answer, share = "usage", usage_answer(str(exc), None), False
    except Exception:  # a bug must still get the user an answer; the traceback goes to our logs
        log.exception("/triage %r failed", command.get("text"))
        name, share = "error", False
        answer = Answer(
            text=":warning: Something went wrong answering that; it has been logged.", private=True
        )
    with transaction(services.sessions) as session:
        queue_answer(session, response_url=response_url, answer=answer, share=share)
    services.outbox.kick()
    return name
