"""`POST /slack/events`: events, interactivity and slash commands on one URL, handed to Bolt."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from triagebot.bootstrap import Services
from triagebot.slackbot.app import build_bolt
from triagebot.web.body import read_capped


def router(services: Services) -> APIRouter:
    """Build the Slack route; it answers 503 until Slack is configured."""
    api = APIRouter()
    bolt = build_bolt(services)

    @api.post("/slack/events")
    async def slack_events(request: Request) -> Response:
        if bolt is None:
            raise HTTPException(
                503, "Slack is not configured (TRIAGEBOT_SLACK_BOT_TOKEN, TRIAGEBOT_SLACK_SIGNING_SECRET)"
            )
        body = await read_capped(request, services.settings.max_body_bytes)
        # Bolt's App is synchronous: dispatch blocks until the listener acks, and its middleware may
        # call Slack first (auth.test on the first request). Bolt's own Starlette adapter runs that on
        # the event loop, stalling every other route meanwhile, so it runs on a worker thread here.
        answer = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(answer)

    return api
