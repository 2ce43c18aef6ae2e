"""Tiny Shop gated end to end in Chromium: the buggy build fails (status, thread reply, evidence, flag
advance refused), the fixed build passes when GitHub says its preview deployed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FIXTURES
from tests.gates_service.conftest import AUTH, REPO
from tests.gates_service.helpers import COUPON_ISSUE, SHA_A, commit_specs, coupon_yaml, http_spec_yaml
from tests.support.fake_github import FakeGitHub
from tests.support.fake_slack import FakeSlack
from tests.support.signing import github_headers
from triagebot.bootstrap import Services
from triagebot.db import transaction, utcnow
from triagebot.demo.sampleapp import SampleApp, serve_sample_app
from triagebot.triage.models import Issue

pytestmark = pytest.mark.browser
FLAG = "new-checkout"
THREAD_TS = "1700000000.000100"


@pytest.fixture
def buggy() -> Iterator[SampleApp]:
    with serve_sample_app("buggy") as app:
        yield app


@pytest.fixture
def fixed() -> Iterator[SampleApp]:
    with serve_sample_app("fixed") as app:
        yield app


def test_buggy_preview_fails_the_gate_and_tells_the_issue_thread(
    gclient: TestClient, gservices: Services, fake_github: FakeGitHub, fake_slack: FakeSlack, buggy: SampleApp
) -> None:
    with transaction(gservices.sessions) as session:
        session.add(
            Issue(
                id=COUPON_ISSUE,
                short_id="SHOP-123",
                title="TypeError <!channel>",
                channel="C0TRIAGE",
                thread_ts=THREAD_TS,
                first_seen=utcnow(),
                flags=[],
            )
        )
    commit_specs(
        fake_github,
        REPO,
        SHA_A,
        {"coupon.yml": coupon_yaml(flags=[FLAG]), "home.yml": http_spec_yaml("home")},
    )
    assert (
        gclient.post(f"/api/flags/{FLAG}", json={"percent": 10, "actor": "ci"}, headers=AUTH).status_code
        == 200
    )

    answer = gclient.post(
        "/api/gates", json={"repo": REPO, "sha": SHA_A, "pr": 45, "preview_url": buggy.url}, headers=AUTH
    ).json()
    gservices.outbox.drain()

    gate = gclient.get(f"/api/gates/{answer['id']}", headers=AUTH).json()
    assert gate["state"] == "failed" and gate["flags"] == [FLAG]
    assert gate["selection"] == "all 2 specs (changed files unknown)"
    results = {r["spec_id"]: r for r in gate["results"]}
    assert {spec: r["outcome"] for spec, r in results.items()} == {"coupon": "failed", "home": "passed"}
    coupon = results["coupon"]
    assert coupon["failing_step"] == "click role=button[name=Apply coupon]"
    assert {
        "kind": "page_error",
        "text": "TypeError: Cannot read properties of undefined (reading 'discount')",
    } in coupon["errors"]
    shot = coupon["screenshot"]
    assert shot.startswith(f"http://triagebot.test/gates/{answer['id']}/evidence/coupon/attempt-")
    evidence = shot.removeprefix("http://triagebot.test")
    assert gclient.get(evidence).status_code == 401  # evidence is behind the dashboard's sign-in
    signed = {"Authorization": "Bearer dashboard-token-for-tests"}
    assert gclient.get(evidence, headers=signed).content.startswith(b"\x89PNG")

    assert fake_github.statuses_for(SHA_A)[-1] == (
        "failure",
        "triagebot/regressions",
        "Regression gate failed: 1 passed, 1 failed",
    )
    summary = gate["summary"]
    assert "| `new-checkout` | production | 10% (rolling) |" in summary
    assert "[screenshot](http://triagebot.test/gates/" in summary

    replies = [c.args for c in fake_slack.of("chat.postMessage") if c.args.get("thread_ts") == THREAD_TS]
    [reply] = replies
    assert reply["text"].startswith(
        f":x: SHOP-123's regression test fails on PR #45's preview (acme/shop): "
        f"<http://triagebot.test/gates/{answer['id']}|evidence>"
    )

    refused = gclient.post(f"/api/flags/{FLAG}", json={"percent": 50, "actor": "ci"}, headers=AUTH)
    assert refused.status_code == 409
    assert refused.json()["reasons"] == [
        f"the latest gate of PR #45 in acme/shop (gate {answer['id']}) is failing"
    ]
    forced = gclient.post(
        f"/api/flags/{FLAG}", json={"percent": 50, "actor": "ci", "force": "known flake"}, headers=AUTH
    ).json()
    assert forced["change"]["override"] is True and forced["rollout"]["percent"] == 50


def test_fixed_preview_deployed_on_github_passes(
    gclient: TestClient, gservices: Services, fake_github: FakeGitHub, fake_slack: FakeSlack, fixed: SampleApp
) -> None:
    payload = json.loads((FIXTURES / "github" / "webhook.deployment_status.created.success.json").read_text())
    payload["deployment_status"]["environment_url"] = fixed.url
    payload["repository"]["full_name"] = REPO  # GitHub's example comes from a repository not served here
    repo, sha = REPO, payload["deployment"]["sha"]
    commit_specs(fake_github, repo, sha, {"coupon.yml": coupon_yaml()})
    body = json.dumps(payload).encode()

    sent = gclient.post(
        "/webhooks/github", content=body, headers=github_headers("deployment_status", body, str(uuid.uuid4()))
    )
    assert sent.status_code == 202
    gservices.outbox.drain()

    assert fake_github.statuses_for(sha) == [
        ("pending", "triagebot/regressions", "Regression gate queued"),
        ("pending", "triagebot/regressions", "Regression gate running"),
        ("success", "triagebot/regressions", "Regression gate passed: 1 passed"),
    ]
    assert fake_slack.of("chat.postMessage") == []
