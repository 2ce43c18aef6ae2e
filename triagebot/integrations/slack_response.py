"""Posting queued slash-command answers to their `response_url` with slack_sdk's WebhookClient."""

from __future__ import annotations

from urllib.parse import urlsplit

from slack_sdk.errors import SlackRequestError
from slack_sdk.webhook import WebhookClient

from triagebot.errors import PermanentFailure, RetryLater
from triagebot.outbox.models import OutboxMessage
from triagebot.settings import Settings

RESPOND = "slack.respond"
SLACK_HOOKS = ("https", "hooks.slack.com", None)


def origin(url: str) -> tuple[str, str, int | None]:
    """Return (scheme, host, explicit port) of a URL, lower-cased."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1  # an unparsable port never matches
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def response_url_allowed(url: str, settings: Settings) -> bool:
    """Accept Slack's hooks host, or the configured Slack API's own origin (a local server in tests).

    The URL arrives in the request body; only a signed request reaches us, but we still refuse to post
    anywhere else so a forged or mistaken value cannot make us call an internal address.
    """
    if not url or any(ch in url for ch in "\r\n\\@"):
        return False
    found = origin(url)
    return found in (SLACK_HOOKS, origin(settings.slack_api_url))


class ResponseDelivery:
    """The outbox handler posting queued answers to their `response_url`."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self.settings = settings
        self.timeout = timeout

    def __call__(self, message: OutboxMessage) -> None:
        """POST one page; retry on 429/5xx/network trouble, give up on an expired or refused URL."""
        url = str(message.payload.get("response_url", ""))
        if not response_url_allowed(url, self.settings):
            raise PermanentFailure("response_url is not a Slack hooks URL; refused")
        # No retry handlers of the SDK's own: the outbox retries, with backoff, across restarts.
        client = WebhookClient(url, timeout=max(1, round(self.timeout)), retry_handlers=[])
        try:
            response = client.send_dict(message.payload["body"])
        except (OSError, SlackRequestError) as exc:  # refused, unreachable and timed out are OSErrors
            raise RetryLater(f"slack response_url: {type(exc).__name__}: {exc}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            after = next((str(v) for k, v in response.headers.items() if k.lower() == "retry-after"), "")
            delay = float(after) if after.replace(".", "", 1).isdigit() else None
            raise RetryLater(f"slack response_url: {status}", after=delay)
        if status >= 400:
            # 404 expired_url / used_url: thirty minutes or five posts have passed; retrying cannot help.
            raise PermanentFailure(f"slack response_url: {status} {(response.body or '')[:200]}")
