"""A gate that could not test the change says `error` on the commit and tells no Slack thread it failed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.gates_service.conftest import AUTH, REPO
from tests.gates_service.helpers import COUPON_ISSUE, COUPON_SHORT, SHA_A, coupon_yaml
from tests.support.fake_github import FakeGitHub
from tests.support.fake_slack import FakeSlack
from triagebot.bootstrap import Services
from triagebot.db import transaction, utcnow
from triagebot.demo.sampleapp import serve_sample_app
from triagebot.triage.models import Issue

pytestmark = pytest.mark.browser
THREAD_TS = "1700000000.000200"


def _issue_with_thread(services: Services) -> None:
    with transaction(services.sessions) as session:
        session.add(
            Issue(
                id=COUPON_ISSUE,
                short_id=COUPON_SHORT,
                title="TypeError",
                channel="C0TRIAGE",
                thread_ts=THREAD_TS,
                first_seen=utcnow(),
                flags=[],
            )
        )


def _run(client: TestClient, services: Services, preview: str) -> dict[str, object]:
    answer = client.post(
        "/api/gates", json={"repo": REPO, "sha": SHA_A, "pr": 46, "preview_url": preview}, headers=AUTH
    ).json()
    services.outbox.drain()
    gate: dict[str, object] = client.get(f"/api/gates/{answer['id']}", headers=AUTH).json()
    return gate


def test_an_unreachable_preview_is_an_error_not_a_failure(
    gclient: TestClient, gservices: Services, fake_github: FakeGitHub, fake_slack: FakeSlack
) -> None:
    _issue_with_thread(gservices)
    fake_github.add_files(REPO, SHA_A, {".triagebot/tests/coupon.yml": coupon_yaml()})
    with serve_sample_app("buggy") as gone:
        url = gone.url  # nobody listens there any more

    gate = _run(gclient, gservices, url)

    assert gate["state"] == "error"
    state, context, description = fake_github.statuses_for(SHA_A)[-1]
    assert (state, context) == ("error", "triagebot/regressions")
    assert "Could not gate" in description
    assert [c for c in fake_slack.of("chat.postMessage") if c.args.get("thread_ts") == THREAD_TS] == []


def test_a_config_asking_for_the_bots_own_token_is_refused_by_name(
    gclient: TestClient,
    gservices: Services,
    fake_github: FakeGitHub,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRIAGEBOT_GITHUB_TOKEN", "ghp_never_to_a_preview")
    _issue_with_thread(gservices)
    config = "preview:\n  headers:\n    x-steal: TRIAGEBOT_GITHUB_TOKEN\n"
    fake_github.add_files(
        REPO, SHA_A, {".triagebot/tests/coupon.yml": coupon_yaml(), ".triagebot/config.yml": config}
    )
    with serve_sample_app("buggy") as buggy:
        gate = _run(gclient, gservices, buggy.url)
        assert buggy.state.requests == []  # refused before the browser went anywhere

    assert gate["state"] == "error"
    assert "TRIAGEBOT_GITHUB_TOKEN" in str(gate["error"]) and "ghp_never" not in str(gate)
    assert fake_github.statuses_for(SHA_A)[-1][0] == "error"
    assert [c for c in fake_slack.of("chat.postMessage") if c.args.get("thread_ts") == THREAD_TS] == []
