"""The flag notice on an issue's root message: a flag its event carried is in partial rollout, since when."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from triagebot.flags.models import FlagRollout
from triagebot.flags.service import flag_keys, partial_rollouts
from triagebot.messages.mrkdwn import code, safe
from triagebot.triage.models import Issue

MAX_SHOWN = 5
BUTTON_VALUE_MAX = 2000  # Slack's limit on a button's value


def since(rollout: FlagRollout) -> str:
    """Render when a stage began as a Slack date (shown in the reader's zone; the fallback is UTC)."""
    at = rollout.stage_since
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M} UTC>"


def rollback_value(rollout: FlagRollout, issue_id: str) -> str:
    """Encode what the **Roll back flag** button rolls back, and from which thread."""
    return f"{rollout.environment}\n{rollout.key}\n{issue_id}"[:BUTTON_VALUE_MAX]


def parse_rollback_value(value: str) -> tuple[str, str, str]:
    """Decode a **Roll back flag** button's value into (environment, key, issue id)."""
    parts = value.split("\n")
    if len(parts) != 3 or not all(parts):
        raise ValueError("not a rollback button value")
    return parts[0], parts[1], parts[2]


def flag_notice(session: Session, issue: Issue) -> dict[str, Any]:
    """Root-message decorator: name the partial rollouts among the issue's flags, with a rollback button."""
    rollouts = partial_rollouts(session, flag_keys(issue), issue.environment)
    if not rollouts:
        return {}
    lines = [
        f":triangular_flag_on_post: Flag {code(r.key, 300)} is at *{r.percent}%* in "
        f"{safe(r.environment, 200)} ({r.state.replace('_', ' ')}) since {since(r)}"
        for r in rollouts[:MAX_SHOWN]
    ]
    if len(rollouts) > MAX_SHOWN:
        lines.append(f"…and {len(rollouts) - MAX_SHOWN} more flags in partial rollout")
    first = rollouts[0]
    return {
        "flag_notice": "\n".join(lines),
        "flag_rollback": rollback_value(first, issue.id),
    }
