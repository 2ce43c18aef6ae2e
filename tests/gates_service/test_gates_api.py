"""`POST /api/gates` and `GET /api/gates/{id}`: auth, validation, refused hosts, reports, supersede."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col, select

from tests.gates_service.conftest import AUTH, REPO, gate_services
from tests.gates_service.helpers import SHA_A, SHA_B, commit_specs, http_spec_yaml
from tests.support.fake_github import FakeGitHub
from tests.support.fake_sentry import FakeSentry
from tests.support.fake_slack import FakeSlack
from triagebot.app import create_app
from triagebot.bootstrap import Services
from triagebot.db import transaction
from triagebot.gates import service
from triagebot.gates.tables import GateRun
from triagebot.outbox.models import OutboxMessage

PREVIEW = "http://127.0.0.1:9"  # allowed host; nothing is browsed unless a spec is selected
CONTEXT = "triagebot/regressions"


def body(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"repo": REPO, "sha": SHA_A, "pr": 45, "preview_url": PREVIEW}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_start_requires_the_bearer_token(gclient: TestClient) -> None:
    assert gclient.post("/api/gates", json=body()).status_code == 401
    wrong = gclient.post("/api/gates", json=body(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert gclient.get("/api/gates/1").status_code == 401


def test_start_names_the_bad_field(gclient: TestClient) -> None:
    missing = gclient.post("/api/gates", json={"repo": REPO, "preview_url": PREVIEW}, headers=AUTH)
    assert missing.status_code == 400 and missing.json()["detail"].startswith("sha:")
    repo = gclient.post("/api/gates", json=body(repo="no-slash-here"), headers=AUTH)
    assert repo.status_code == 400 and repo.json()["detail"] == "repo: must look like owner/name"
    url = gclient.post("/api/gates", json=body(preview_url="ftp://127.0.0.1/"), headers=AUTH)
    assert url.status_code == 400 and url.json()["detail"].startswith("preview_url:")


def test_host_not_listed_is_refused(gclient: TestClient, gservices: Services) -> None:
    answer = gclient.post("/api/gates", json=body(preview_url="https://pr-45.evil.example"), headers=AUTH)
    assert answer.status_code == 422
    assert "'pr-45.evil.example' is not an allowed preview host" in answer.json()["detail"]
    with transaction(gservices.sessions) as session:
        assert session.exec(select(GateRun)).all() == []
        assert session.exec(select(OutboxMessage)).all() == []


def test_gate_without_specs_passes_and_reports_each_state(
    gclient: TestClient, gservices: Services, fake_github: FakeGitHub
) -> None:
    answer = gclient.post("/api/gates", json=body(changed_files=["src/app.ts"]), headers=AUTH)
    assert answer.status_code == 202
    gate = answer.json()
    assert gate == {
        "id": gate["id"],
        "state": "queued",
        "url": f"http://triagebot.test/gates/{gate['id']}",
        "created": True,
    }
    again = gclient.post("/api/gates", json=body(), headers=AUTH).json()
    assert again["id"] == gate["id"] and again["created"] is False  # the same commit is not gated twice

    gservices.outbox.drain()

    assert fake_github.statuses_for(SHA_A) == [
        ("pending", CONTEXT, "Regression gate queued"),
        ("pending", CONTEXT, "Regression gate running"),
        ("success", CONTEXT, "Regression gate passed: no specs selected"),
    ]
    assert fake_github.statuses[-1]["target_url"] == gate["url"]
    shown = gclient.get(f"/api/gates/{gate['id']}", headers=AUTH).json()
    assert shown["state"] == "passed" and shown["results"] == []
    assert shown["changed_files"] == ["src/app.ts"]
    assert shown["selection"] == "0 of 0 specs match 1 changed file or always run"
    assert gclient.get("/api/gates/999", headers=AUTH).status_code == 404
    finished = gservices.metrics.registry.get_sample_value(
        "triagebot_gate_duration_seconds_count", {"verdict": "passed"}
    )
    assert finished == 1.0


def test_invalid_spec_is_an_error_for_that_spec(
    gclient: TestClient, gservices: Services, fake_github: FakeGitHub
) -> None:
    commit_specs(fake_github, REPO, SHA_A, {"broken.yml": "version: 1\nid: Not An Id\nissue: {id: '1'}\n"})
    gate_id = gclient.post("/api/gates", json=body(), headers=AUTH).json()["id"]

    gservices.outbox.drain()

    shown = gclient.get(f"/api/gates/{gate_id}", headers=AUTH).json()
    assert shown["state"] == "error" and shown["error"] == "1 spec file(s) do not validate"
    [result] = shown["results"]
    assert result["spec_id"] == ".triagebot/tests/broken.yml" and result["outcome"] == "error"
    assert result["message"].startswith(".triagebot/tests/broken.yml: id: String should match pattern")
    assert fake_github.statuses_for(SHA_A)[-1] == (
        "error",
        CONTEXT,
        "Could not gate: 1 spec file(s) do not validate",
    )
    assert "**Specs that do not validate** (reported, not run):" in shown["summary"]


def test_browser_that_cannot_launch_reports_an_error(
    database_url: str,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_sentry: FakeSentry,
    fake_github: FakeGitHub,
) -> None:
    services = gate_services(
        database_url,
        tmp_path,
        fake_slack,
        fake_sentry,
        fake_github,
        chromium_path=str(tmp_path / "no-chromium"),
    )
    commit_specs(fake_github, REPO, SHA_A, {"home.yml": http_spec_yaml("home")})
    with TestClient(create_app(services)) as client:
        gate_id = client.post("/api/gates", json=body(), headers=AUTH).json()["id"]
        services.outbox.drain()
        shown = client.get(f"/api/gates/{gate_id}", headers=AUTH).json()
    services.engine.dispose()
    assert shown["state"] == "error"
    assert shown["error"].startswith("the browser failed to launch: no Chromium found")
    state, _context, description = fake_github.statuses_for(SHA_A)[-1]
    assert state == "error" and description.startswith("Could not gate: the browser failed to launch")
    assert "This is not a verdict on the change" in shown["summary"]


def test_code_host_trouble_after_retries_is_an_error(
    gclient: TestClient, gservices: Services, fake_github: FakeGitHub
) -> None:
    fake_github.fail(502, times=10, path="/contents/")
    gate_id = gclient.post("/api/gates", json=body(), headers=AUTH).json()["id"]
    for _ in range(3):
        gservices.outbox.drain()
        with transaction(gservices.sessions) as session:  # skip the backoff wait
            session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.status) == "pending")
                .values(due_at=OutboxMessage.created_at)
            )

    shown = gclient.get(f"/api/gates/{gate_id}", headers=AUTH).json()
    assert shown["state"] == "error" and shown["error"] == "the code host kept failing while reading specs"
    assert fake_github.statuses_for(SHA_A)[-1][0] == "error"


def test_newer_push_supersedes_a_queued_gate(
    gclient: TestClient, gservices: Services, fake_github: FakeGitHub
) -> None:
    first = gclient.post("/api/gates", json=body(sha=SHA_A), headers=AUTH).json()["id"]
    second = gclient.post("/api/gates", json=body(sha=SHA_B), headers=AUTH).json()["id"]

    gservices.outbox.drain()

    old = gclient.get(f"/api/gates/{first}", headers=AUTH).json()
    assert old["state"] == "superseded" and old["superseded_by"] == second
    assert fake_github.statuses_for(SHA_A) == [
        ("pending", CONTEXT, "Regression gate queued"),
        ("error", CONTEXT, "Superseded by a newer push; not gated"),
    ]
    assert gclient.get(f"/api/gates/{second}", headers=AUTH).json()["state"] == "passed"


def test_result_of_a_gate_superseded_while_running_is_discarded(gservices: Services) -> None:
    settings = gservices.settings
    with transaction(gservices.sessions) as session:
        old, _ = service.request_gate(
            session, settings=settings, request=service.GateRequest(REPO, SHA_A, PREVIEW, "api", pr=7)
        )
        assert old.id is not None
        service.start(session, old.id)
    with transaction(gservices.sessions) as session:
        service.request_gate(
            session, settings=settings, request=service.GateRequest(REPO, SHA_B, PREVIEW, "api", pr=7)
        )
    with transaction(gservices.sessions) as session:
        assert service.finish(session, old.id, result=None, verdict="passed") is None
        kept = service.get_gate(session, old.id)
        assert kept is not None and kept.state == "superseded"
        assert kept.error == f"superseded by a newer push ({SHA_B[:7]})"


def test_with_an_app_the_gate_reports_one_check_run_updated_to_its_verdict(
    database_url: str,
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_sentry: FakeSentry,
    fake_github: FakeGitHub,
) -> None:
    services = gate_services(
        database_url,
        tmp_path,
        fake_slack,
        fake_sentry,
        fake_github,
        github_app_id="123",
        github_app_private_key="k",
    )
    with TestClient(create_app(services)) as client:
        gate_id = client.post("/api/gates", json=body(), headers=AUTH).json()["id"]
        services.outbox.drain()
    services.engine.dispose()
    [run] = fake_github.check_runs.values()
    assert (run["name"], run["head_sha"], run["external_id"]) == (CONTEXT, SHA_A, str(gate_id))
    assert [(u["status"], u.get("conclusion")) for u in run["updates"]] == [
        ("in_progress", None),
        ("completed", "success"),
    ]
    assert run["output"]["summary"].startswith("**Regression gate passed**: 0 specs")
    assert run["details_url"] == f"http://triagebot.test/gates/{gate_id}"


def test_a_claim_is_renewed_only_by_the_worker_holding_it(gservices: Services) -> None:
    from triagebot.outbox import store

    with transaction(gservices.sessions) as session:
        store.enqueue(session, "gate.run", {"gate_id": 0})
    [claimed] = store.claim(gservices.sessions, "worker-1")
    assert claimed.id is not None
    assert store.extend_claim(gservices.sessions, claimed.id, "worker-1") is True
    assert store.extend_claim(gservices.sessions, claimed.id, "worker-2") is False


def test_a_gate_without_a_pr_finds_it_by_head_whatever_the_repos_case(gservices: Services) -> None:
    settings = gservices.settings
    with transaction(gservices.sessions) as session:
        service.record_pull_request(session, repo=REPO.lower(), pr=7, head_sha=SHA_A)
        service.record_pull_request(session, repo=REPO.lower(), pr=8, head_sha=SHA_B)
    with transaction(gservices.sessions) as session:
        gate, _ = service.request_gate(
            session, settings=settings, request=service.GateRequest(REPO.upper(), SHA_A, PREVIEW, "api")
        )
        assert gate.pr == 7
