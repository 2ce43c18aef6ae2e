"""The pull request's title and Markdown body: hostile event text stays text, and the steps are listed."""

from __future__ import annotations

import json

import pytest

from tests.conftest import FIXTURES
from triagebot.backfill import prs
from triagebot.drafts.config import parse_repo_config
from triagebot.errors import BadInput
from triagebot.spec import Verification
from triagebot.triage.models import Issue

HOSTILE = "TypeError: @octocat <img src=x onerror=alert(1)> [pwn](javascript:alert(1)) #12 `x`\n# Heading"


def hostile_issue() -> Issue:
    event = json.loads((FIXTURES / "sentry" / "api.issue_latest_event.javascript_browser.json").read_text())
    return Issue(
        id="138",
        short_id="SHOP-7",
        title=HOSTILE,
        web_url="https://acme.sentry.io/issues/138/",
        latest_event=event,
    )


def test_body_escapes_outside_text_and_lists_steps_and_doubts() -> None:
    issue = hostile_issue()
    draft = prs.build_draft(issue, parse_repo_config("drafts:\n  format: python\n  dir: tests/e2e\n").drafts)
    body = prs.pr_body(issue, draft, thread_url="https://slack.com/archives/C0TRIAGE/p1700000000000001")
    lead, blank, headline = body.splitlines()[:3]
    assert (lead, blank) == ("**Unverified**: this draft was not run against any build.", "")
    assert headline == (
        "This pull request adds a regression test for [SHOP\\-7](https://acme.sentry.io/issues/138/): "
        "**TypeError: &#64;octocat &lt;img src=x onerror=alert\\(1\\)&gt; "
        "\\[pwn\\]\\(javascript:alert\\(1\\)\\) &#35;12 \\`x\\` &#35; Heading**"
    )
    for raw in ("@octocat", "<img", "](javascript", "#12"):
        assert raw not in body
    assert "[triage thread](https://slack.com/archives/C0TRIAGE/p1700000000000001)" in body
    assert "- `tests/e2e/test_shop_7.py`: the same test for pytest-playwright, for your own CI" in body
    assert (
        "Starting at /:\n\n1. click css “body &gt; app\\-root &gt; ol &gt; li &gt; button” (weak locator)"
        in body
    )
    assert "- no uncaught page error matches Error: Error with context" in body
    assert (
        prs.pr_title(issue, draft.spec)
        == f"Unverified: regression test for SHOP-7: {' '.join(HOSTILE.split())}"
    )


def test_repo_config_is_read_and_a_bad_one_is_named() -> None:
    assert parse_repo_config(None).drafts.format == "ts"
    assert parse_repo_config("gate:\n  required: true\n").drafts.dir == "e2e/regressions"
    with pytest.raises(BadInput, match=r"\.triagebot/config\.yml: drafts\.format: "):
        parse_repo_config("drafts:\n  format: ruby\n")
    with pytest.raises(BadInput, match="no event to draft from; configure TRIAGEBOT_SENTRY_API_TOKEN"):
        prs.build_draft(Issue(id="1", title="x"), parse_repo_config(None).drafts)


def _verified(issue: Issue, result: str, detail: str, **body: object) -> tuple[str, str]:
    draft = prs.build_draft(issue, parse_repo_config(None).drafts)
    verification = Verification(
        result=result, base_url="https://main.preview.example.com", at="2026-12-06T10:00:00Z", detail=detail
    )  # type: ignore[arg-type]
    draft = prs.with_spec(draft, draft.spec.model_copy(update={"verification": verification}))
    return prs.pr_title(issue, draft.spec), prs.pr_body(issue, draft, thread_url=None, **body)  # type: ignore[arg-type]


def test_a_reproduced_draft_leads_with_the_verdict_and_its_evidence() -> None:
    title, body = _verified(
        hostile_issue(),
        "reproduced",
        f"step 1 (click css=button): {HOSTILE}",
        evidence_url="https://triagebot.example.com/issues/138/verification",
    )
    assert title.startswith("Reproduced: regression test for SHOP-7: ")
    lead = body.splitlines()[0]
    assert lead.startswith(
        "**Reproduced on https://main\\.preview\\.example\\.com**: step 1 \\(click css=button\\): "
    )
    for raw in ("@octocat", "<img", "](javascript", "#12"):
        assert raw not in body
    assert "[screenshot](https://triagebot.example.com/issues/138/verification/screenshot)" in body
    assert "[trace](https://triagebot.example.com/issues/138/verification/trace)" in body


def test_a_draft_that_does_not_reproduce_says_so_and_what_to_check() -> None:
    title, body = _verified(
        hostile_issue(), "not_reproduced", "step 1 (click css=button): locator not found", failed_step=0
    )
    assert title.startswith("Not reproduced: regression test for SHOP-7: ")
    assert body.startswith("**Not reproduced** on https://main\\.preview\\.example\\.com: step 1 ")
    assert "What to check:\n- step 1 (click css “body &gt; app\\-root" in body
    assert "(it may be fixed there already)" in body


def test_a_verification_that_could_not_run_is_not_a_verdict() -> None:
    title, body = _verified(hostile_issue(), "error", "the preview is unreachable: connection refused")
    assert title.startswith("Not verified: ")
    assert body.startswith(
        "**Not verified**: the run against https://main\\.preview\\.example\\.com could not happen"
    )
