"""`triagebot replay` signs a fixture as Sentry would and a running service accepts it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from sqlmodel import select

from tests.conftest import FIXTURES, make_settings
from tests.support.signing import SENTRY_SECRET
from triagebot.app import create_app
from triagebot.bootstrap import Services, build_services
from triagebot.cli import main
from triagebot.triage.models import Issue


@pytest.fixture
def running(sqlite_url: str, tmp_path: Path) -> Iterator[tuple[str, Services]]:
    services = build_services(make_settings(sqlite_url, tmp_path))
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), host="127.0.0.1", port=0, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/webhooks/sentry", services
    server.should_exit = True
    thread.join(timeout=10)


def test_replay_signs_and_posts_a_fixture(
    running: tuple[str, Services], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, services = running
    monkeypatch.setenv("TRIAGEBOT_SENTRY_CLIENT_SECRET", SENTRY_SECRET)
    assert main(["replay", str(FIXTURES / "sentry" / "event_alert.triggered.json"), "--url", url]) == 0
    assert capsys.readouterr().out.startswith('202 {"ok":true,"issue":"1117540176","outcome":"opened"}')
    with services.sessions() as session:
        assert [issue.id for issue in session.execute(select(Issue)).scalars()] == ["1117540176"]


def test_replay_with_the_wrong_secret_is_refused(
    running: tuple[str, Services], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, _services = running
    monkeypatch.setenv("TRIAGEBOT_SENTRY_CLIENT_SECRET", "not-the-secret")
    assert main(["replay", str(FIXTURES / "sentry" / "issue.created.json"), "--url", url]) == 1
    assert capsys.readouterr().out.startswith("401 ")


def test_replay_of_a_missing_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "/nonexistent.json"]) == 2
    assert "cannot read /nonexistent.json" in capsys.readouterr().err


def test_replay_into_the_running_demo_uses_its_url_and_secret(
    running: tuple[str, Services], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triagebot.demo.setup import write_replay_info

    url, services = running
    monkeypatch.delenv("TRIAGEBOT_SENTRY_CLIENT_SECRET", raising=False)
    workdir = tmp_path / "demo"
    workdir.mkdir()
    write_replay_info(workdir, url=url.removesuffix("/webhooks/sentry"), client_secret=SENTRY_SECRET)
    fixture = str(FIXTURES / "sentry" / "event_alert.triggered.json")
    assert main(["replay", fixture, "--demo", str(workdir)]) == 0
    with services.sessions() as session:
        assert [issue.id for issue in session.execute(select(Issue)).scalars()] == ["1117540176"]
    assert main(["replay", fixture, "--demo", str(tmp_path / "no-demo-here")]) == 2
