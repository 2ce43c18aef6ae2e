"""Golden files of the Block Kit each message kind sends: the root message in its states, a reply, the
"Won't test" modal. Review a diff under tests/snapshots/slack/ like code (UPDATE_SNAPSHOTS=1 rewrites)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from triagebot.messages import blocks, ids
from triagebot.slackbot.modals import wont_test_view

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots" / "slack"
HOSTILE = "<!channel> <@U0ADMIN> & <https://evil.example|click> *bold* `tick` \u2028 ${x}"
SEEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def view(**changes: Any) -> blocks.RootView:
    values: dict[str, Any] = {
        "issue_id": "4504",
        "short_id": "SHOP-123",
        "title": "TypeError: Cannot read properties of undefined (reading 'discount')",
        "culprit": "applyCoupon(app/checkout.js)",
        "level": "error",
        "status": "unresolved",
        "project": "shop-web",
        "environment": "production",
        "release": "shop@1.4.2",
        "events": 1234,
        "users": 87,
        "first_seen": SEEN,
        "last_seen": SEEN,
        "web_url": "https://acme.sentry.io/issues/4504/",
        "assignee": None,
        "flags": [("new-checkout", True)],
    }
    values.update(changes)
    return blocks.RootView(**values)


CASES: dict[str, Any] = {
    "root.new": lambda: blocks.root_message(view()),
    "root.test_pr_open": lambda: blocks.root_message(
        view(
            version=3,
            test_line=":test_tube: Regression test: <https://github.com/acme/shop/pull/45|PR #45> (draft)",
            test_pr_url="https://github.com/acme/shop/pull/45",
        )
    ),
    "root.resolved_assigned_no_link": lambda: blocks.root_message(
        view(status="resolved", assignee="dev@acme.test", web_url="javascript:alert(1)", flags=[])
    ),
    "root.flag_notice": lambda: blocks.root_message(
        view(
            flag_notice=":triangular_flag_on_post: `new-checkout` is rolling out: 10% in production",
            flag_rollback="new-checkout|production|4504",
        )
    ),
    "root.hostile": lambda: blocks.root_message(
        view(
            short_id=HOSTILE,
            title=HOSTILE,
            culprit=HOSTILE,
            project=HOSTILE,
            environment=HOSTILE,
            release=HOSTILE,
            assignee=HOSTILE,
            flags=[(HOSTILE, HOSTILE)],
            test_pr_url=HOSTILE,
        )
    ),
    "reply": lambda: blocks.reply(":test_tube: Drafted a regression test: <https://x.test/pull/1|PR #1>"),
    "modal.wont_test": lambda: wont_test_view(issue_id="4504", name=HOSTILE, channel="C0TRIAGE"),
}


def _check(name: str, value: Any) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path}; run with UPDATE_SNAPSHOTS=1 and review it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs; UPDATE_SNAPSHOTS=1 to accept"


@pytest.mark.parametrize("name", sorted(CASES))
def test_block_kit_matches_the_golden_file(name: str) -> None:
    _check(name, CASES[name]())


def _texts(value: Any, parsed: bool = False) -> list[str]:
    """Every string Slack parses for mentions: mrkdwn text objects and the top-level fallback text."""
    found: list[str] = []
    if isinstance(value, dict):
        if value.get("type") == "mrkdwn" and isinstance(value.get("text"), str):
            found.append(value["text"])
        for item in value.values():
            found += _texts(item)
    elif isinstance(value, list | tuple):
        for item in value:
            found += _texts(item)
    elif isinstance(value, str) and parsed:
        found.append(value)
    return found


def test_hostile_text_never_pings_nor_links_and_bad_urls_make_no_buttons() -> None:
    text, body = blocks.root_message(
        view(title=HOSTILE, culprit=HOSTILE, test_pr_url=HOSTILE, flags=[(HOSTILE, 1)])
    )
    for parsed in [text, *_texts(body)]:
        assert "<!channel>" not in parsed and "<@U0ADMIN>" not in parsed and "<https://evil" not in parsed
    actions = next(block for block in body if block["type"] == "actions")
    # Not a URL: no View test PR button (Slack would refuse the whole message), the create button stays.
    assert actions["elements"][0]["action_id"] == ids.CREATE_TEST


def test_the_assignee_picker_names_its_issue_through_the_block_id() -> None:
    _text, body = blocks.root_message(view(issue_id="4504", version=7))
    actions = next(block for block in body if block["type"] == "actions")
    assert blocks.issue_of_block(actions["block_id"]) == "4504"
    assert blocks.issue_of_block("8KR") is None and blocks.issue_of_block(None) is None
