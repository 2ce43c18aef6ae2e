"""Our GitHub client against a local server speaking the REST API: auth, errors, files and reports."""

from __future__ import annotations

from collections.abc import Iterator

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from tests.backfill.conftest import ServicesFactory, click, open_thread
from tests.support.fake_github import FakeGitHub
from triagebot.app import create_app
from triagebot.errors import PermanentFailure, RetryLater
from triagebot.integrations.github import API_VERSION, AppAuth, GitHubClient, TokenAuth
from triagebot.integrations.github.errors import rate_limit_wait
from triagebot.messages import ids


@pytest.fixture
def github(fake_github: FakeGitHub) -> Iterator[GitHubClient]:
    client = GitHubClient(fake_github.url, TokenAuth("ghp_test"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def app_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_errors_map_to_retry_or_permanent_with_githubs_message(
    github: GitHubClient, fake_github: FakeGitHub
) -> None:
    fake_github.rate_limit(reset_in=600)
    with pytest.raises(RetryLater) as limited:
        github.default_head("acme/shop")
    assert limited.value.after is not None and 590 <= limited.value.after <= 600

    fake_github.fail(429, headers={"retry-after": "7"}, message="You have exceeded a secondary rate limit.")
    with pytest.raises(RetryLater) as secondary:
        github.default_head("acme/shop")
    assert secondary.value.after == 7.0

    fake_github.fail(403, message="You have exceeded a secondary rate limit. Please wait a few minutes.")
    with pytest.raises(RetryLater) as no_header:
        github.default_head("acme/shop")
    assert no_header.value.after == 60.0

    fake_github.fail(503)
    with pytest.raises(RetryLater) as unavailable:
        github.default_head("acme/shop")
    assert (str(unavailable.value), unavailable.value.after) == (
        "GitHub GET /repos/acme/shop: 503 Server Error",
        None,
    )

    fake_github.fail(403, message="Resource not accessible by integration")
    with pytest.raises(PermanentFailure, match="403 Resource not accessible by integration"):
        github.default_head("acme/shop")
    with pytest.raises(PermanentFailure, match="GitHub GET /repos/acme/nope: 404 Not Found"):
        github.default_head("acme/nope")
    with pytest.raises(PermanentFailure, match="Bad credentials"):
        GitHubClient(fake_github.url, TokenAuth("ghp_wrong")).default_head("acme/shop")
    assert {call.path for call in fake_github.calls} == {"/repos/acme/shop", "/repos/acme/nope"}


def test_rate_limit_wait_reads_githubs_headers_in_order() -> None:
    import httpx

    def answer(status: int, **headers: str) -> httpx.Response:
        return httpx.Response(status, headers=headers, json={"message": "Forbidden"})

    assert rate_limit_wait(answer(403, **{"retry-after": "30", "x-ratelimit-remaining": "0"}), now=0) == 30.0
    assert (
        rate_limit_wait(answer(403, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000"}), now=900)
        == 100
    )
    assert rate_limit_wait(answer(403, **{"x-ratelimit-remaining": "12"}), now=0) is None
    assert rate_limit_wait(answer(429), now=0) == 60.0


def test_branch_files_pull_requests_and_reports(github: GitHubClient, fake_github: FakeGitHub) -> None:
    head = github.default_head("acme/shop")
    assert head.branch == "main"
    files = {"e2e/a.spec.ts": "test('a', () => {});\n", ".triagebot/tests/a.yml": "version: 1\n"}
    sha = github.create_branch(
        "acme/shop", branch="triagebot/a", base_sha=head.sha, files=files, message="Add a"
    )
    assert fake_github.files_at("acme/shop", "triagebot/a") == {"README.md": "# Shop\n", **files}
    # Again: the branch exists, nothing is written.
    writes = len([c for c in fake_github.calls if c.verb == "POST"])
    assert (
        github.create_branch("acme/shop", branch="triagebot/a", base_sha=head.sha, files={}, message="x")
        == sha
    )
    assert len([c for c in fake_github.calls if c.verb == "POST"]) == writes

    assert github.find_pull("acme/shop", "triagebot/a") is None
    pull = github.open_pull("acme/shop", branch="triagebot/a", base="main", title="Add a", body="Body")
    assert (pull.number, pull.url, pull.state, pull.merged, pull.branch, pull.head_sha) == (
        1347,
        "https://github.com/acme/shop/pull/1347",
        "open",
        False,
        "triagebot/a",
        sha,
    )
    # A second open answers 422 "A pull request already exists"; the client returns the open one.
    assert (
        github.open_pull("acme/shop", branch="triagebot/a", base="main", title="Add a", body="Body") == pull
    )
    assert github.find_pull("acme/shop", "triagebot/a") == pull
    fake_github.merge("acme/shop", 1347)
    assert github.get_pull("acme/shop", 1347).merged is True
    assert github.find_pull("acme/shop", "triagebot/a").merged is True  # type: ignore[union-attr]

    assert github.read_file("acme/shop", ".triagebot/tests/a.yml", "main") == "version: 1\n"
    assert github.read_file("acme/shop", ".triagebot/config.yml", "main") is None
    assert github.list_dir("acme/shop", ".triagebot/tests", sha) == [".triagebot/tests/a.yml"]
    assert github.list_dir("acme/shop", "missing", sha) == []

    github.create_status(
        "acme/shop",
        sha,
        state="failure",
        context="triagebot",
        description="x" * 300,
        target_url="https://triagebot.test/gates/1",
    )
    [status] = fake_github.of("POST", f"/statuses/{sha}")
    assert status.body == {
        "state": "failure",
        "context": "triagebot",
        "description": "x" * 140,
        "target_url": "https://triagebot.test/gates/1",
    }
    run_id = github.create_check_run("acme/shop", head_sha=sha, name="triagebot", status="queued")
    github.update_check_run(
        "acme/shop", run_id, status="completed", conclusion="success", title="1 passed", summary="All good"
    )
    [patch] = fake_github.of("PATCH", f"/check-runs/{run_id}")
    assert patch.body == {
        "status": "completed",
        "conclusion": "success",
        "output": {"title": "1 passed", "summary": "All good"},
    }
    assert fake_github.server.url  # every request carried the pinned version (the fake refuses others)
    assert API_VERSION == "2022-11-28"


def test_app_auth_exchanges_a_signed_jwt_once_for_a_cached_installation_token(
    fake_github: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> None:
    fake_github.enable_app("12345", app_key.public_key())
    signed = AppAuth("12345", pem(app_key), clock=lambda: 1_700_000_000.0).app_jwt()
    claims = jwt.decode(signed, app_key.public_key(), algorithms=["RS256"], options={"verify_exp": False})
    assert claims == {"iat": 1_699_999_940, "exp": 1_700_000_540, "iss": "12345"}  # 60 s back for drift

    auth = AppAuth("12345", pem(app_key), installation_id=None)  # looked up from the repository
    github = GitHubClient(fake_github.url, auth)
    github.default_head("acme/shop")
    github.read_file("acme/shop", "README.md", "main")
    assert fake_github.issued == ["ghs_" + "1".zfill(36)]
    exchanges = [call.path for call in fake_github.calls if "installation" in call.path]
    assert exchanges == ["/repos/acme/shop/installation", "/app/installations/4242/access_tokens"]
    repo_calls = [
        call
        for call in fake_github.calls
        if call.path.startswith("/repos/acme/shop") and "installation" not in call.path
    ]
    assert {call.auth for call in repo_calls} == {"Bearer " + fake_github.issued[0]}


def test_a_github_app_opens_the_draft_pull_request(
    make_services: ServicesFactory, fake_github: FakeGitHub, app_key: rsa.RSAPrivateKey
) -> None:
    fake_github.enable_app("12345", app_key.public_key())
    services = make_services(
        github_token=None,
        github_app_id="12345",
        github_app_private_key=pem(app_key),
        github_app_installation_id="4242",
    )
    with TestClient(create_app(services)) as client:
        issue_id = open_thread(client, services)
        click(client, ids.CREATE_TEST, issue_id)
    services.outbox.drain()
    [pull] = fake_github.of("POST", "/pulls")
    assert pull.auth == "Bearer " + fake_github.issued[0]
    assert len(fake_github.issued) == 1
    assert fake_github.of("POST", "/app/installations/4242/access_tokens")


def test_pull_request_files_are_read_page_by_page(github: GitHubClient, fake_github: FakeGitHub) -> None:
    changed = [f"src/file{n:03d}.ts" for n in range(150)]
    fake_github.repos["acme/shop"].pull_files[7] = changed
    assert github.list_pull_files("acme/shop", 7) == changed
    pages = [call.path for call in fake_github.of("GET", "/files")]
    assert pages == ["/repos/acme/shop/pulls/7/files", "/repos/acme/shop/pulls/7/files"]
