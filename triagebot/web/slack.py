"""`POST /slack/events`: events, interactivity and slash commands on one URL, handed to Bolt."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from slack_bolt.adapter.starlette.handler import SlackRequestHandler

from triagebot.bootstrap import Services
from triagebot.slackbot.app import build_bolt


def router(services: Services) -> APIRouter:
    """Build the Slack route; it answers 503 until Slack is configured."""
    api = APIRouter()
    bolt = build_bolt(services)
    handler = SlackRequestHandler(bolt) if bolt is not None else None

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        if handler is None:
            raise HTTPException(
                503, "Slack is not configured (TRIAGEBOT_SLACK_BOT_TOKEN, TRIAGEBOT_SLACK_SIGNING_SECRET)"
            )
        return await handler.handle(request)

    return api
