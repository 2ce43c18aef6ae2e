"""Signed GitHub webhooks start and inform gates: deployment_status success, pull_request heads."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import FIXTURES
from tests.support.signing import github_headers
from triagebot.bootstrap import Services
from triagebot.db import transaction
from triagebot.gates.service import pull_request_of
from triagebot.gates.tables import GateRun, PullRequestHead

GITHUB = FIXTURES / "github"
REPO = "acme/shop"  # the served repository; GitHub's examples come from Codertocat/Hello-World
PR_HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


def load(name: str) -> dict[str, Any]:
    """GitHub's example payload, sent from the repository the service serves."""
    data: dict[str, Any] = json.loads((GITHUB / name).read_text())
    data["repository"]["full_name"] = REPO
    return data


def send(client: TestClient, event: str, payload: dict[str, Any]) -> Any:
    body = json.dumps(payload).encode()
    return client.post(
        "/webhooks/github", content=body, headers=github_headers(event, body, str(uuid.uuid4()))
    )


def gate_outcome(answer: Any) -> Any:
    """The gate flow's outcome of a delivery (other flows may handle deployment_status too, before it)."""
    value = answer.json()["outcome"]
    return value[-1] if isinstance(value, list) else value


def preview_ready(url: str, sha: str | None = None) -> dict[str, Any]:
    """The deployment_status fixture with its environment_url pointing at `url`."""
    payload = load("webhook.deployment_status.created.success.json")
    payload["deployment_status"]["environment_url"] = url
    if sha is not None:
        payload["deployment"]["sha"] = sha
    return payload


def gates(services: Services) -> list[GateRun]:
    with transaction(services.sessions) as session:
        return list(session.exec(select(GateRun).order_by(GateRun.id)))  # type: ignore[arg-type]


def test_successful_deployment_queues_a_gate_on_its_environment_url(
    gclient: TestClient, gservices: Services
) -> None:
    answer = send(gclient, "deployment_status", preview_ready("http://127.0.0.1:4321/"))
    assert answer.status_code == 202
    [gate] = gates(gservices)
    assert (gate.repo, gate.sha, gate.pr, gate.preview_url, gate.trigger, gate.state) == (
        REPO,
        "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
        None,
        "http://127.0.0.1:4321",
        "deployment_status",
        "queued",
    )
    assert gate_outcome(answer) == {"gate": gate.id, "created": True}


def test_target_url_is_used_without_environment_url(gclient: TestClient, gservices: Services) -> None:
    payload = load("webhook.deployment_status.created.octokit_original.json")
    assert gate_outcome(send(gclient, "deployment_status", payload)) == (
        "ignored: deployment_status has neither environment_url nor target_url"
    )
    payload["deployment_status"]["target_url"] = "http://127.0.0.1:5555"
    send(gclient, "deployment_status", payload)
    assert [gate.preview_url for gate in gates(gservices)] == ["http://127.0.0.1:5555"]


def test_deployment_on_a_host_not_listed_is_not_gated(gclient: TestClient, gservices: Services) -> None:
    answer = send(gclient, "deployment_status", load("webhook.deployment_status.created.success.json"))
    assert answer.status_code == 202
    assert gate_outcome(answer).startswith("ignored: host 'test-branch.lab.acme.com' is not an allowed")
    assert gates(gservices) == []


def test_failed_deployment_is_ignored(gclient: TestClient, gservices: Services) -> None:
    payload = preview_ready("http://127.0.0.1:4321")
    payload["deployment_status"]["state"] = "failure"
    assert gate_outcome(send(gclient, "deployment_status", payload)).startswith("ignored: deployment state")
    assert gates(gservices) == []


def test_pull_request_head_links_deployments_and_supersedes_older_pushes(
    gclient: TestClient, gservices: Services
) -> None:
    older = "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"
    opened = load("webhook.pull_request.opened.json")
    opened["pull_request"]["head"]["sha"] = older
    send(gclient, "pull_request", opened)
    send(gclient, "deployment_status", preview_ready("http://127.0.0.1:4321", sha=older))

    send(gclient, "pull_request", load("webhook.pull_request.synchronize.json"))
    send(gclient, "deployment_status", preview_ready("http://127.0.0.1:4322", sha=PR_HEAD))

    first, second = gates(gservices)
    assert (first.pr, first.state, first.error) == (
        2,
        "superseded",
        f"superseded by a newer push ({PR_HEAD[:7]})",
    )
    assert (second.pr, second.sha, second.state) == (2, PR_HEAD, "queued")
    with transaction(gservices.sessions) as session:
        [head] = session.exec(select(PullRequestHead)).all()
        assert (head.repo, head.pr, head.head_sha) == (REPO, 2, PR_HEAD)


def test_deployment_before_its_pull_request_event_gets_the_pr(
    gclient: TestClient, gservices: Services
) -> None:
    send(gclient, "deployment_status", preview_ready("http://127.0.0.1:4321", sha=PR_HEAD))
    send(gclient, "pull_request", load("webhook.pull_request.synchronize.json"))
    [gate] = gates(gservices)
    assert gate.pr == 2


def test_redelivery_does_not_gate_twice(gclient: TestClient, gservices: Services, tmp_path: Path) -> None:
    body = json.dumps(preview_ready("http://127.0.0.1:4321")).encode()
    headers = github_headers("deployment_status", body, "delivery-1")
    assert gclient.post("/webhooks/github", content=body, headers=headers).status_code == 202
    assert gclient.post("/webhooks/github", content=body, headers=headers).json()["outcome"] == "duplicate"
    assert len(gates(gservices)) == 1


def test_a_gate_without_a_pr_number_finds_it_from_the_recorded_head(
    gclient: TestClient, gservices: Services
) -> None:
    # The failure reply then says "fails on PR #2's preview", not "the preview of <sha>".
    assert send(gclient, "pull_request", load("webhook.pull_request.opened.json")).status_code == 202
    with transaction(gservices.sessions) as session:
        head = pull_request_of(session, REPO.upper(), PR_HEAD)
        assert head is not None and head.pr == 2
        assert pull_request_of(session, REPO, "0" * 40) is None


def test_a_deployment_whose_url_is_not_a_web_address_is_ignored_not_a_500(
    gclient: TestClient, gservices: Services
) -> None:
    answer = send(gclient, "deployment_status", preview_ready("<!channel> ${x}"))
    assert answer.status_code == 202
    assert gate_outcome(answer).startswith("ignored: preview_url")
    assert gates(gservices) == []
