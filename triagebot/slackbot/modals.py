"""Pure Block Kit builders for the thread's modals."""

from __future__ import annotations

import json
from typing import Any

from triagebot.messages import ids
from triagebot.messages.mrkdwn import plain

REASON_BLOCK = "reason"
REASON_INPUT = "reason"
REASON_MAX = 500


def wont_test_view(*, issue_id: str, name: str, channel: str | None) -> dict[str, Any]:
    """The "Won't test" modal: one required reason, the issue carried in private_metadata."""
    return {
        "type": "modal",
        "callback_id": ids.WONT_TEST_VIEW,
        # A view_submission carries no channel or response_url: what the answer needs travels here.
        "private_metadata": json.dumps({"issue_id": issue_id, "channel": channel}),
        "title": {"type": "plain_text", "text": "Won't test"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "plain_text",
                    "text": plain(f"{name} will stay out of the coverage gaps on purpose.", 300),
                },
            },
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "label": {"type": "plain_text", "text": "Why will it not get a regression test?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_INPUT,
                    "multiline": True,
                    "max_length": REASON_MAX,
                },
            },
        ],
    }


def submitted_reason(view: dict[str, Any]) -> str:
    """Return the reason typed into a submitted "Won't test" modal (empty when missing)."""
    values = (view.get("state") or {}).get("values") or {}
    value = (values.get(REASON_BLOCK) or {}).get(REASON_INPUT, {}).get("value")
    return value.strip() if isinstance(value, str) else ""


def submitted_issue(view: dict[str, Any]) -> tuple[str | None, str | None]:
    """Return the issue id and channel a submitted modal was opened for."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return None, None
    if not isinstance(meta, dict):
        return None, None
    issue_id, channel = meta.get("issue_id"), meta.get("channel")
    return (
        issue_id if isinstance(issue_id, str) else None,
        channel if isinstance(channel, str) else None,
    )
