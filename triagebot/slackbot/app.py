"""The Bolt app: request verification, then the listeners of actions.py and commands.py."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App
from slack_sdk import WebClient

from triagebot.settings import secret

if TYPE_CHECKING:
    from triagebot.bootstrap import Services


def build_bolt(services: Services) -> App | None:
    """Build the Bolt app when Slack is configured; None otherwise (threads live on the dashboard)."""
    settings = services.settings
    token, signing = secret(settings.slack_bot_token), secret(settings.slack_signing_secret)
    if not (token and signing):
        return None
    app = App(
        client=WebClient(token=token, base_url=settings.slack_api_url),
        signing_secret=signing,
        # auth.test runs lazily on the first request, so the service starts while Slack is down.
        token_verification_enabled=False,
        # Listeners ack first and go on after Bolt has answered; their threads can be waited for.
        process_before_response=False,
        listener_executor=services.listeners,
    )
    from triagebot.slackbot import actions, commands, flag_actions

    actions.register(app, services)
    commands.register(app, services)
    flag_actions.register(app, services)
    return app
