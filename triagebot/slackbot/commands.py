"""The `/triage` slash command."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App

if TYPE_CHECKING:
    from triagebot.bootstrap import Services


def register(app: App, services: Services) -> None:
    """Attach the `/triage` listener."""
    del services

    @app.command("/triage")
    def triage(ack: Ack, command: dict[str, Any]) -> None:
        ack(text="Usage: /triage help")
