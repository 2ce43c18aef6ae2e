"""Pure Block Kit builders for the triage thread: the root message and its replies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from triagebot.messages import ids
from triagebot.messages.mrkdwn import (
    CONTEXT_TEXT,
    FIELD_TEXT,
    HEADER_TEXT,
    MESSAGE_TEXT,
    SECTION_TEXT,
    code,
    link,
    plain,
    safe,
)

Blocks = list[dict[str, Any]]
LEVEL_ICON = {"fatal": ":red_circle:", "error": ":red_circle:", "warning": ":large_orange_circle:"}


@dataclass(frozen=True)
class RootView:
    """Everything the root message shows about an issue."""

    issue_id: str
    short_id: str | None
    title: str
    culprit: str | None
    level: str | None
    status: str
    project: str | None
    environment: str | None
    release: str | None
    events: int
    users: int
    first_seen: datetime | None
    last_seen: datetime | None
    web_url: str | None
    assignee: str | None
    flags: list[tuple[str, Any]]
    version: int = 0
    test_line: str | None = None  # mrkdwn we built ourselves, e.g. the draft PR link
    test_pr_url: str | None = None  # once a test's pull request exists: **View test PR** replaces the button
    flag_notice: str | None = None
    flag_rollback: str | None = None  # value of the notice's **Roll back flag** button


def _when(value: datetime | None) -> str:
    if value is None:
        return "-"
    # Slack renders the epoch in the reader's own time zone; the fallback text is UTC.
    epoch = int(value.timestamp())
    return f"<!date^{epoch}^{{date_short_pretty}} {{time}}|{value:%Y-%m-%d %H:%M} UTC>"


def _field(label: str, value: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": f"*{label}*\n{value}"[:FIELD_TEXT]}


def root_message(view: RootView) -> tuple[str, Blocks]:
    """Build the fallback text and blocks of an issue's root message."""
    name = view.short_id or f"Sentry issue {view.issue_id}"
    status = view.status + (f" · assigned to {view.assignee}" if view.assignee else "")
    icon = (
        ":white_check_mark:" if view.status == "resolved" else LEVEL_ICON.get(view.level or "", ":warning:")
    )
    headline = f"{icon} *{link(view.web_url, view.title or name, SECTION_TEXT - 200)}*"
    if view.culprit:
        headline += "\n" + code(view.culprit, 500)
    fields = [
        _field("Level", safe(view.level or "-", 100)),
        _field("Status", safe(status, 400)),
        _field("Project", safe(view.project or "-", 300)),
        _field("Environment", safe(view.environment or "-", 300)),
        _field("Release", safe(view.release or "-", 300)),
        _field("Events / users", f"{view.events:,} / {view.users:,}"),
        _field("First seen", _when(view.first_seen)),
        _field("Last seen", _when(view.last_seen)),
    ]
    suffix = f"{view.issue_id}-{view.version}"
    blocks: Blocks = [
        {
            "type": "header",
            "block_id": f"h-{suffix}",
            "text": {"type": "plain_text", "text": plain(name, HEADER_TEXT)},
        },
        {"type": "section", "block_id": f"s-{suffix}", "text": {"type": "mrkdwn", "text": headline}},
        {"type": "section", "block_id": f"f-{suffix}", "fields": fields},
    ]
    if view.flags:
        shown = ", ".join(f"{key}={value}" for key, value in view.flags[:20])
        more = f" (+{len(view.flags) - 20} more)" if len(view.flags) > 20 else ""
        blocks.append(
            {
                "type": "context",
                "block_id": f"c-{suffix}",
                "elements": [{"type": "mrkdwn", "text": "Flags: " + safe(shown, CONTEXT_TEXT - 40) + more}],
            }
        )
    if view.flag_notice:
        notice: dict[str, Any] = {
            "type": "section",
            "block_id": f"n-{suffix}",
            "text": {"type": "mrkdwn", "text": view.flag_notice},
        }
        if view.flag_rollback:
            notice["accessory"] = _button("Roll back flag", ids.ROLLBACK_FLAG, view.flag_rollback, "danger")
        blocks.append(notice)
    if view.test_line:
        blocks.append(
            {
                "type": "context",
                "block_id": f"t-{suffix}",
                "elements": [{"type": "mrkdwn", "text": view.test_line}],
            }
        )
    blocks.append({"type": "actions", "block_id": f"a-{suffix}", "elements": _buttons(view)})
    text = f"{name}: {view.title}"
    return safe(text, MESSAGE_TEXT), blocks


def _button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": plain(text, 75)},
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _link_button(text: str, action_id: str, url: str | None) -> dict[str, Any] | None:
    # Slack refuses a whole message whose URL button is not http(s) or longer than 3000 characters.
    if not (url and url.startswith(("https://", "http://")) and len(url) <= 3000):
        return None
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "url": url,
    }


def _buttons(view: RootView) -> list[dict[str, Any]]:
    test_pr = _link_button("View test PR", ids.VIEW_TEST_PR, view.test_pr_url)
    elements = [
        test_pr or _button("Create regression test", ids.CREATE_TEST, view.issue_id, "primary"),
        _button("Assign to me", ids.ASSIGN_ME, view.issue_id),
        {
            # The issue is read back from the block id: a select carries no value of its own.
            "type": "users_select",
            "action_id": ids.ASSIGN_USER,
            "placeholder": {"type": "plain_text", "text": "Assign to…"},
        },
        _button("Resolve", ids.RESOLVE, view.issue_id),
        _button("Archive", ids.ARCHIVE, view.issue_id),
        _button("Won't test", ids.WONT_TEST, view.issue_id),
        _link_button("Open in Sentry", ids.OPEN_SENTRY, view.web_url),
    ]
    return [element for element in elements if element is not None]


def issue_of_block(block_id: str | None) -> str | None:
    """Read the issue id back from a root message's actions block id (`a-<issue>-<version>`)."""
    if not block_id or not block_id.startswith("a-") or "-" not in block_id[2:]:
        return None
    return block_id[2:].rsplit("-", 1)[0] or None


def reply(text: str) -> tuple[str, Blocks]:
    """Build a thread reply from mrkdwn we composed (outside values already escaped by the caller)."""
    text = text[:SECTION_TEXT]
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
