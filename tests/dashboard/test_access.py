"""Who sees the dashboard: token sign-in, Bearer, CSRF, production without a token, evidence paths."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import make_settings
from tests.dashboard.seed import seed
from triagebot.app import create_app
from triagebot.bootstrap import build_services
from triagebot.db import transaction
from triagebot.gates.tables import GateSpecResult

TOKEN = "dashboard-token-for-tests"
PAGES = [
    "/",
    "/?show=all",
    "/issues/1",
    "/tests",
    "/gates",
    "/gates/1",
    "/flags",
    "/gates/1/files/1/screenshot",
    "/issues/2/verification/screenshot",
]


@pytest.fixture
def app_client(sqlite_url: str, tmp_path: Path) -> Iterator[TestClient]:
    services = build_services(make_settings(sqlite_url, tmp_path))
    seed(services)
    with TestClient(create_app(services), base_url="http://triagebot.test") as client:
        client.services = services  # type: ignore[attr-defined]
        yield client
    services.engine.dispose()


@pytest.mark.parametrize("path", PAGES)
def test_nothing_is_visible_without_signing_in(app_client: TestClient, path: str) -> None:
    browser = app_client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
    assert browser.status_code == 303
    assert browser.headers["location"].startswith("/login?next=")
    assert app_client.get(path).status_code == 401
    assert app_client.get(path, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert app_client.get(path, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_healthz_needs_no_token(app_client: TestClient) -> None:
    assert app_client.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_login_sets_a_strict_cookie_and_refuses_open_redirects(app_client: TestClient) -> None:
    wrong = app_client.post("/login", data={"token": "nope", "next": "/tests"}, follow_redirects=False)
    assert (wrong.status_code, wrong.headers["location"]) == (303, "/login?next=/tests&failed=1")
    assert "set-cookie" not in wrong.headers
    answer = app_client.post(
        "/login", data={"token": TOKEN, "next": "//evil.example/x"}, follow_redirects=False
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/")
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=1209600" in cookie
    assert app_client.get("/tests").status_code == 200
    session = app_client.cookies["triagebot_session"]
    # Change the signature's last hex digit (always to a different one: it may already be "0").
    app_client.cookies.set("triagebot_session", session[:-1] + ("1" if session.endswith("0") else "0"))
    assert app_client.get("/tests").status_code == 401  # a tampered cookie is worthless


def test_buttons_need_the_form_token(app_client: TestClient) -> None:
    app_client.post("/login", data={"token": TOKEN})
    refused = app_client.post(
        "/issues/2/wont-test", data={"reason": "x", "csrf": "forged"}, follow_redirects=False
    )
    assert refused.status_code == 403
    page = app_client.get("/issues/2").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    done = app_client.post(
        "/issues/2/wont-test", data={"reason": "vendor", "csrf": csrf}, follow_redirects=False
    )
    assert (done.status_code, done.headers["location"]) == (
        303,
        "/issues/2?done=wont-test",
    )
    assert "Marked as won't test." in app_client.get(done.headers["location"]).text.replace("&#39;", "'")


def test_pages_escape_outside_text(app_client: TestClient) -> None:
    app_client.post("/login", data={"token": TOKEN})
    page = app_client.get("/?show=all").text
    assert "<script>alert(2)</script>" not in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert app_client.get("/").headers["content-security-policy"].startswith("default-src 'none'")


def test_evidence_outside_the_evidence_folder_is_refused(app_client: TestClient, tmp_path: Path) -> None:
    app_client.post("/login", data={"token": TOKEN})
    secret = tmp_path / "settings.env"
    secret.write_text("TOKEN=1")
    with transaction(app_client.services.sessions) as session:  # type: ignore[attr-defined]
        result = session.get(GateSpecResult, 1)
        assert result is not None
        result.screenshot = str(tmp_path / "data" / "evidence" / ".." / ".." / "settings.env")
    assert app_client.get("/gates/1/files/1/screenshot").status_code == 404
    trace = app_client.get("/gates/1/files/1/trace")
    assert trace.status_code == 200
    assert trace.headers["content-disposition"] == 'attachment; filename="trace-1-1.zip"'


def test_production_without_a_token_serves_no_dashboard(sqlite_url: str, tmp_path: Path) -> None:
    services = build_services(make_settings(sqlite_url, tmp_path, mode="production", dashboard_token=None))
    with TestClient(create_app(services)) as client:
        assert client.get("/", headers={"Authorization": "Bearer anything"}).status_code == 503
        assert client.get("/login").status_code == 503
        assert client.get("/healthz").status_code == 200
    services.engine.dispose()


def test_development_without_a_token_logs_a_login_url(
    sqlite_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    services = build_services(make_settings(sqlite_url, tmp_path, dashboard_token=None))
    with TestClient(create_app(services)) as client:
        (line,) = [r.getMessage() for r in caplog.records if "dashboard login is" in r.getMessage()]
        login = line.split("dashboard login is ", 1)[1]
        assert login.startswith("http://triagebot.test/login?token=")
        signed = client.get(login.removeprefix("http://triagebot.test"), follow_redirects=False)
        assert (signed.status_code, signed.headers["location"]) == (303, "/")
        assert client.get("/flags").status_code == 200
    services.engine.dispose()


def test_the_issue_page_shows_the_verdict_with_its_evidence(app_client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    page = app_client.get("/issues/2", headers=headers).text
    assert "<strong>Reproduced</strong> on <code>http://127.0.0.1:4321</code>" in page
    assert "TypeError: total is undefined &lt;!channel&gt;" in page
    assert 'src="/issues/2/verification/screenshot"' in page
    shot = app_client.get("/issues/2/verification/screenshot", headers=headers)
    assert shot.headers["content-type"] == "image/png" and shot.content.startswith(b"\x89PNG")
    assert app_client.get("/issues/2/verification/trace", headers=headers).status_code == 404  # none kept
    assert app_client.get("/issues/1/verification/screenshot", headers=headers).status_code == 404
