"""Slack Web API adapter (slack_sdk): the Chat port, with errors mapped for the outbox."""

from __future__ import annotations

import logging
import urllib.error
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from triagebot.errors import PermanentFailure, RetryLater
from triagebot.integrations.ports import Posted

log = logging.getLogger(__name__)

# Errors Slack itself calls transient; anything else in an `ok: false` answer will not heal by retrying.
TRANSIENT = {
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}


def _raise_for(exc: SlackApiError, method: str) -> None:
    status = exc.response.status_code
    error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
    if status == 429 or error in TRANSIENT or status >= 500:
        retry_after = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        after = float(retry_after) if retry_after and str(retry_after).replace(".", "", 1).isdigit() else None
        raise RetryLater(f"slack {method}: {status} {error or 'server error'}", after=after) from None
    raise PermanentFailure(f"slack {method}: {error or status}") from None


class SlackChat:
    """Chat over Slack's Web API; retries are the outbox's job, so the client does none for 429/5xx."""

    def __init__(self, token: str, base_url: str, timeout: int = 10) -> None:
        self.client = WebClient(token=token, base_url=base_url, timeout=timeout)

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self.client.api_call(method, json=kwargs)
        except SlackApiError as exc:
            _raise_for(exc, method)
            raise  # unreachable: _raise_for always raises
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise RetryLater(f"slack {method}: {exc}") from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> Posted:
        """Post a message; links and media from error text are never unfurled."""
        args: dict[str, Any] = {
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if thread_ts:
            args["thread_ts"] = thread_ts
            args["reply_broadcast"] = broadcast
        data = self._call("chat.postMessage", **args)
        return Posted(channel=str(data.get("channel") or channel), ts=str(data["ts"]))

    def update(self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None:
        """Replace a message's text and blocks."""
        self._call("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)

    def post_ephemeral(
        self, *, channel: str, user: str, text: str, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Show a message to one user."""
        args: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks:
            args["blocks"] = blocks
        self._call("chat.postEphemeral", **args)

    def open_view(self, *, trigger_id: str, view: dict[str, Any]) -> None:
        """Open a modal."""
        self._call("views.open", trigger_id=trigger_id, view=view)

    def user_email(self, user_id: str) -> str | None:
        """Look the user up with users.info; the email is there only with the `users:read.email` scope."""
        try:
            # Form-encoded: users.info is one of the read methods that does not take a JSON body.
            response = self.client.api_call("users.info", params={"user": user_id})
        except SlackApiError as exc:
            if exc.response.get("error") == "user_not_found":
                return None
            _raise_for(exc, "users.info")
            raise  # unreachable: _raise_for always raises
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            raise RetryLater(f"slack users.info: {exc}") from None
        data = response.data if isinstance(response.data, dict) else {}
        email = (data.get("user") or {}).get("profile", {}).get("email")
        return str(email) if email else None
