"""Clicking "Create regression test" verifies the draft before its pull request opens.

The issue is the sample shop's coupon TypeError, replayed as a signed Sentry webhook; the build to
verify against is the newest default-branch preview GitHub reported (deployment_status), else
TRIAGEBOT_VERIFY_URL. Every verdict is then held against what the gate does on the same build.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from tests.backfill.conftest import ServicesFactory, click
from tests.backfill.test_click_to_pr import replies
from tests.conftest import FIXTURES
from tests.coverage.test_slash_command import slash
from tests.support.fake_github import FakeGitHub
from tests.support.fake_slack import FakeSlack
from tests.support.signing import github_headers, sentry_headers
from triagebot.app import create_app
from triagebot.backfill import delivery
from triagebot.bootstrap import Services
from triagebot.demo.sampleapp import SampleApp, serve_sample_app
from triagebot.demo.setup import ISSUE_ID, sentry_webhook_body
from triagebot.gates.runner import run_gate
from triagebot.integrations.chromium import find_chromium
from triagebot.messages import ids
from triagebot.spec import parse_spec

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(find_chromium(None) is None, reason="no Chromium installed (make chromium)"),
]
SPEC_PATH = ".triagebot/tests/sentry-4200000001.yml"
BRANCH = "triagebot/sentry-4200000001"
QUICK = {"preview_hosts": ["127.0.0.1"], "gate_step_timeout_ms": 3_000, "gate_spec_timeout_ms": 30_000}


@pytest.fixture
def buggy() -> Iterator[SampleApp]:
    with serve_sample_app("buggy") as app:
        yield app


@pytest.fixture
def fixed() -> Iterator[SampleApp]:
    with serve_sample_app("fixed") as app:
        yield app


def _client(services: Services) -> TestClient:
    return TestClient(create_app(services))


def _open_thread(client: TestClient, services: Services, seen_on: str) -> None:
    body = sentry_webhook_body(seen_on, datetime.now(UTC))
    response = client.post("/webhooks/sentry", content=body, headers=sentry_headers("event_alert", body))
    assert response.status_code == 202, response.text
    services.outbox.drain()


def _default_branch_deployed(client: TestClient, url: str, ref: str = "main") -> Any:
    payload = json.loads((FIXTURES / "github" / "webhook.deployment_status.created.success.json").read_text())
    payload["repository"].update(full_name="acme/shop", default_branch="main")
    payload["deployment"]["ref"] = ref
    payload["deployment_status"]["environment_url"] = url
    body = json.dumps(payload).encode()
    headers = github_headers("deployment_status", body, str(uuid.uuid4()))
    return client.post("/webhooks/github", content=body, headers=headers)


def md_url(url: str) -> str:
    """A URL as the PR body's Markdown escaping writes it."""
    return url.replace(".", "\\.")


def _pull(fake_github: FakeGitHub) -> dict[str, Any]:
    [pull] = fake_github.repos["acme/shop"].pulls
    return pull


def test_a_click_verifies_against_the_default_branch_preview_and_the_pr_leads_with_reproduced(
    make_services: ServicesFactory,
    fake_github: FakeGitHub,
    fake_slack: FakeSlack,
    buggy: SampleApp,
    tmp_path: Path,
) -> None:
    services = make_services(**QUICK)
    with _client(services) as client:
        _open_thread(client, services, buggy.url)
        # A branch deployment is no place to verify; the default branch's is.
        assert _default_branch_deployed(client, "http://127.0.0.1:9/", ref="feature-x").status_code == 202
        assert _default_branch_deployed(client, buggy.url + "/").status_code == 202
        response = click(client, ids.CREATE_TEST, ISSUE_ID)
        assert response.status_code == 200  # acked at once: the browser runs from the outbox
        assert fake_github.repos["acme/shop"].pulls == []
        services.outbox.drain()

    pull = _pull(fake_github)
    assert pull["title"].startswith("Reproduced: regression test for ")
    lead = pull["body"].splitlines()[0]
    assert lead.startswith(f"**Reproduced on {md_url(buggy.url)}**: step 5 \\(click testid=apply")
    assert "TypeError: Cannot read properties of undefined" in lead
    evidence = f"http://triagebot.test/issues/{ISSUE_ID}/verification"
    assert f"[screenshot]({evidence}/screenshot)" in pull["body"]
    spec = parse_spec(yaml.safe_load(fake_github.files_at("acme/shop", BRANCH)[SPEC_PATH]))
    assert spec.verification is not None and spec.verification.result == "reproduced"
    [reply] = [text for text in replies(fake_slack) if "PR #" in text]
    assert reply.startswith(
        f":dart: Reproduced on {buggy.url}: step 5 (click testid=apply-coupon): TypeError"
    )
    test = delivery.get_by_issue(services.sessions, ISSUE_ID)
    assert test is not None and (test.verdict, test.verified_url, test.verify_step) == (
        "reproduced",
        buggy.url,
        4,
    )
    settings = services.settings
    assert run_gate([spec], base_url=buggy.url, settings=settings).verdict == "failed"


def test_a_draft_that_does_not_reproduce_still_opens_marked_and_verify_runs_again_on_request(
    make_services: ServicesFactory,
    fake_github: FakeGitHub,
    fake_slack: FakeSlack,
    buggy: SampleApp,
    fixed: SampleApp,
) -> None:
    services = make_services(**QUICK, verify_url=fixed.url, verify_budget_seconds=0)
    with _client(services) as client:
        _open_thread(client, services, fixed.url)
        click(client, ids.CREATE_TEST, ISSUE_ID)
        services.outbox.drain()

        pull = _pull(fake_github)
        assert pull["title"].startswith("Not reproduced: regression test for ")
        assert pull["body"].startswith(f"**Not reproduced** on {md_url(fixed.url)}: the test passed")
        assert "What to check:" in pull["body"]
        [reply] = [text for text in replies(fake_slack) if "PR #" in text]
        assert reply.startswith(f":grey_question: Not reproduced on {fixed.url}: the test passed")
        spec = parse_spec(yaml.safe_load(fake_github.files_at("acme/shop", BRANCH)[SPEC_PATH]))
        assert run_gate([spec], base_url=fixed.url, settings=services.settings).verdict == "passed"

        # The bug ships to the default branch's preview; `/triage verify` runs the draft there.
        assert _default_branch_deployed(client, buggy.url).status_code == 202
        (answer,) = slash(client, services, fake_slack, f"verify {ISSUE_ID}")
        assert "Verifying the draft of 4200000001 again" in answer["text"]
        services.outbox.drain()

    pull = _pull(fake_github)
    assert pull["title"].startswith("Reproduced: regression test for ")
    assert pull["body"].startswith(f"**Reproduced on {md_url(buggy.url)}**")
    assert replies(fake_slack)[-1].startswith(f":dart: Reproduced on {buggy.url}: ")
    assert replies(fake_slack)[-1].endswith("(verified again on request)")


def test_verify_names_unknown_issues(make_services: ServicesFactory, fake_slack: FakeSlack) -> None:
    services = make_services()
    with _client(services) as client:
        (answer,) = slash(client, services, fake_slack, "verify SHOP-404")
        assert "no Sentry issue `SHOP-404` is known here" in answer["text"]
        (usage,) = slash(client, services, fake_slack, "verify")[-1:]
        assert "Usage: `/triage verify <issue>`" in usage["text"]


def test_without_a_default_branch_preview_the_repos_verify_base_url_comes_before_the_setting(
    make_services: ServicesFactory,
    fake_github: FakeGitHub,
    fake_slack: FakeSlack,
    buggy: SampleApp,
    fixed: SampleApp,
) -> None:
    config = f"drafts:\n  format: ts\nverify:\n  base_url: '  {buggy.url}  '\n"
    fake_github.add_repo("acme/shop", {"README.md": "# Shop\n", ".triagebot/config.yml": config})
    services = make_services(**QUICK, verify_url=fixed.url)
    with _client(services) as client:
        _open_thread(client, services, buggy.url)
        click(client, ids.CREATE_TEST, ISSUE_ID)
        services.outbox.drain()

    pull = _pull(fake_github)
    assert pull["title"].startswith("Reproduced: regression test for ")
    assert pull["body"].startswith(f"**Reproduced on {md_url(buggy.url)}**")
