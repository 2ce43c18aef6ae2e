"""The local-repository code host: real git, a temporary repository, the working tree left alone."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.backfill.conftest import ServicesFactory, click, open_thread
from triagebot.app import create_app
from triagebot.backfill.models import ACTIVE, PR_OPEN, RegressionTest
from triagebot.backfill.prs import merge_local_pull
from triagebot.db import make_engine, session_factory
from triagebot.integrations.localrepo import LocalRepoHost
from triagebot.messages import ids


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def app_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# Shop\n")
    git(repo, "add", "README.md")
    git(repo, "-c", "user.name=dev", "-c", "user.email=dev@acme.test", "commit", "-q", "-m", "Initial")
    return repo


def test_commits_on_a_branch_without_touching_the_working_tree_and_merges(
    app_repo: Path, sqlite_url: str
) -> None:
    engine = make_engine(sqlite_url)
    host = LocalRepoHost(app_repo, session_factory(engine))
    (app_repo / "notes.txt").write_text("work in progress\n")  # an uncommitted change stays as it is
    head = host.default_head("local/shop")
    assert (head.branch, head.sha) == ("main", git(app_repo, "rev-parse", "main").strip())
    files = {".triagebot/tests/shop-1.yml": "version: 1\n", "e2e/regressions/shop-1.spec.ts": "// test\n"}
    sha = host.create_branch(
        "local/shop", branch="triagebot/shop-1", base_sha=head.sha, files=files, message="Add"
    )
    assert git(app_repo, "show", "triagebot/shop-1:.triagebot/tests/shop-1.yml") == "version: 1\n"
    assert git(app_repo, "show", "--stat", "--format=%s%n%P", "triagebot/shop-1").splitlines()[:2] == [
        "Add",
        head.sha,
    ]
    assert git(app_repo, "status", "--porcelain") == "?? notes.txt\n"
    assert not (app_repo / "e2e").exists()
    assert (
        host.create_branch("local/shop", branch="triagebot/shop-1", base_sha=head.sha, files={}, message="x")
        == sha
    )

    pull = host.open_pull("local/shop", branch="triagebot/shop-1", base="main", title="Add", body="")
    assert (pull.number, pull.state, pull.merged, pull.head_sha) == (1, "open", False, sha)
    assert host.open_pull("local/shop", branch="triagebot/shop-1", base="main", title="Add", body="") == pull
    assert host.read_file("local/shop", ".triagebot/tests/shop-1.yml", "triagebot/shop-1") == "version: 1\n"
    assert host.read_file("local/shop", ".triagebot/config.yml", "main") is None
    assert host.list_dir("local/shop", ".triagebot/tests", sha) == [".triagebot/tests/shop-1.yml"]

    merged = host.merge_pull("local/shop", 1)
    assert (merged.state, merged.merged) == ("closed", True)
    assert git(app_repo, "rev-parse", "main").strip() == sha  # fast-forward
    assert (app_repo / "e2e" / "regressions" / "shop-1.spec.ts").read_text() == "// test\n"
    assert git(app_repo, "status", "--porcelain") == "?? notes.txt\n"
    engine.dispose()


def test_click_to_local_branch_and_merge_from_triagebot(
    make_services: ServicesFactory, app_repo: Path
) -> None:
    services = make_services(github_token=None, github_repo=None, local_repo_path=app_repo)
    with TestClient(create_app(services)) as client:
        issue_id = open_thread(client, services)
        click(client, ids.CREATE_TEST, issue_id)
    services.outbox.drain()
    with services.sessions() as session:
        [test] = session.execute(select(RegressionTest)).scalars()
    assert (test.state, test.repo, test.branch, test.pr_number) == (
        PR_OPEN,
        "local/shop",
        "triagebot/sentry-1117540176",
        1,
    )
    listed = git(app_repo, "ls-tree", "-r", "--name-only", "triagebot/sentry-1117540176").split()
    assert listed == [
        ".triagebot/tests/sentry-1117540176.yml",
        "README.md",
        "e2e/regressions/sentry-1117540176.spec.ts",
    ]
    assert merge_local_pull(services.sessions, services.code_host, services.outbox, issue_id) == ACTIVE
    assert "e2e/regressions/sentry-1117540176.spec.ts" in git(
        app_repo, "ls-tree", "-r", "--name-only", "main"
    )
    with services.sessions() as session:
        [test] = session.execute(select(RegressionTest)).scalars()
    assert test.state == ACTIVE


def test_local_pull_request_lists_the_files_it_changes(app_repo: Path, sqlite_url: str) -> None:
    host = LocalRepoHost(app_repo, session_factory(make_engine(sqlite_url)))
    head = host.default_head("local/shop")
    files = {".triagebot/tests/shop-2.yml": "version: 1\n", "src/cart.js": "// fix\n"}
    host.create_branch("local/shop", branch="feature", base_sha=head.sha, files=files, message="Fix cart")
    pull = host.open_pull("local/shop", branch="feature", base="main", title="Fix", body="")
    assert host.list_pull_files("local/shop", pull.number) == [".triagebot/tests/shop-2.yml", "src/cart.js"]
