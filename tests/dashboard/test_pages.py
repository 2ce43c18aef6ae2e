"""Dashboard pages people reach by hand: errors as HTML, the gate summary as Markdown, local PRs."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FIXTURES, make_settings
from tests.dashboard.seed import seed
from tests.support.signing import fixture_request
from triagebot.app import create_app
from triagebot.bootstrap import build_services
from triagebot.db import transaction
from triagebot.gates.tables import GateRun
from triagebot.web.markdown import render_markdown

TOKEN = "dashboard-token-for-tests"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app_client(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    services = build_services(make_settings(sqlite_url, tmp_path))
    ids = seed(services)
    with TestClient(create_app(services), base_url="http://triagebot.test") as client:
        client.services = services  # type: ignore[attr-defined]
        client.ids = ids  # type: ignore[attr-defined]
        yield client
    services.engine.dispose()


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/issues/no-such-issue", 404, "no such issue"),
        ("/?days=abc", 400, "days"),
        ("/gates/999999", 404, "no such gate run"),
        ("/gates/abc", 400, "gate_id"),
        ("/pulls/1", 404, "no local pull request #1"),
    ],
)
def test_refusals_are_html_pages(app_client: TestClient, path: str, status: int, says: str) -> None:
    answer = app_client.get(path, headers=BEARER)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert says in answer.text and '<a href="/">Back to the dashboard</a>' in answer.text


def test_signing_in_is_still_asked_before_anything_else(app_client: TestClient) -> None:
    assert app_client.get("/issues/no-such-issue").status_code == 401
    browser = app_client.get("/issues/x", headers={"Accept": "text/html"}, follow_redirects=False)
    assert browser.status_code == 303


def test_the_gate_summary_is_rendered_markdown(app_client: TestClient) -> None:
    gate_id = app_client.ids["gate_id"]  # type: ignore[attr-defined]
    summary = (
        "| spec | outcome |\n| --- | --- |\n| `coupon` | failed |\n\n"
        "<details><summary>2 passed</summary>\n\n- home\n- cart\n</details>\n\n"
        "[evidence](javascript:alert(1)) <script>alert(1)</script> <img src=x onerror=alert(1)>"
    )
    with transaction(app_client.services.sessions) as session:  # type: ignore[attr-defined]
        gate = session.get(GateRun, gate_id)
        assert gate is not None
        gate.summary = summary
    page = app_client.get(f"/gates/{gate_id}", headers=BEARER).text
    shown = page.split("Summary as reported</h2>", 1)[1]
    assert "<table>" in shown and "<code>coupon</code>" in shown and "| --- |" not in shown
    assert "<details><summary>2 passed</summary>" in shown and "<li>home</li>" in shown
    assert "<script" not in shown and "onerror" not in shown and "<img" not in shown
    assert 'href="javascript' not in shown  # left as plain text, never a link


def test_markdown_keeps_only_layout_and_http_links() -> None:
    html = str(render_markdown('<a href="https://x.test" onclick="y()">ok</a> <iframe src="//x"></iframe>'))
    assert 'href="https://x.test"' in html and "onclick" not in html and "iframe" not in html
    assert str(render_markdown(None)) == ""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def test_a_local_pull_request_links_to_its_page_with_body_and_diff(sqlite_url: str, tmp_path: Path) -> None:
    repo = tmp_path / "shop"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# Shop\n")
    git(repo, "add", "README.md")
    git(repo, "-c", "user.name=dev", "-c", "user.email=dev@acme.test", "commit", "-q", "-m", "Initial")
    settings = make_settings(sqlite_url, tmp_path, slack_channel=None, local_repo_path=repo)
    services = build_services(settings)
    with TestClient(create_app(services), base_url="http://triagebot.test") as client:
        body, headers = fixture_request(FIXTURES / "sentry" / "event_alert.triggered.json")
        issue_id = client.post("/webhooks/sentry", content=body, headers=headers).json()["issue"]
        services.outbox.drain()
        assert client.post(f"/issues/{issue_id}/create-test", headers=BEARER).status_code == 200
        services.outbox.drain()
        issue_page = client.get(f"/issues/{issue_id}", headers=BEARER).text
        assert 'href="http://triagebot.test/pulls/1"' in issue_page  # not a file:// URL
        pull = client.get("/pulls/1", headers=BEARER).text
    services.engine.dispose()
    assert "triagebot/sentry-1117540176" in pull
    assert "<h2>Description</h2>" in pull and "<p>" in pull.split("<h2>Description</h2>", 1)[1]
    assert "+++ b/.triagebot/tests/sentry-1117540176.yml" in pull
