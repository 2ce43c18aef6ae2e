"""Starting the service: bad settings are one line naming the variable, links carry the real port,
and the start-up block says what is connected."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import FIXTURES
from triagebot.cli import main
from triagebot.settings import Settings
from triagebot.startup import summary


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No `.env` and no TRIAGEBOT_* from the machine running the tests.
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("TRIAGEBOT_"):
            monkeypatch.delenv(name)


BAD = [
    ("TRIAGEBOT_DATABASE_URL", "notaurl", "not a database URL"),
    ("TRIAGEBOT_DATABASE_URL", "postgresql://postgres:hunter2@127.0.0.1:1/triagebot", "cannot connect"),
    ("TRIAGEBOT_ROUTES", '{"checkout": {"channel": "C1"', "not valid JSON"),
    ("TRIAGEBOT_ROUTES", '{"checkout": {"channel": ["C1"]}}', "checkout.channel"),
    ("TRIAGEBOT_GATE_CONCURRENCY", "abc", "valid integer"),
    ("TRIAGEBOT_MODE", "prod", "'development' or 'production'"),
]


@pytest.mark.parametrize("command", [["serve"], ["migrate"], ["run-job", "cleanup"]])
@pytest.mark.parametrize(("name", "value", "says"), BAD)
def test_a_bad_setting_is_one_line_naming_it(
    command: list[str],
    name: str,
    value: str,
    says: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(name, value)
    assert main(command) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) <= 2, err
    assert lines[0].startswith(f"triagebot {command[0]}: {name}: "), err
    assert says in err
    assert "Traceback" not in err and "hunter2" not in err


def test_a_bad_setting_stops_the_gate_command_too(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGEBOT_GATE_CONCURRENCY", "abc")
    assert main(["gate", "--base-url", "http://127.0.0.1:9"]) == 2
    assert "TRIAGEBOT_GATE_CONCURRENCY: " in capsys.readouterr().err


def test_a_placeholder_secret_in_production_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIAGEBOT_MODE", "production")
    monkeypatch.setenv("TRIAGEBOT_GATE_TOKEN", "changeme")
    assert main(["migrate"]) == 2
    assert "TRIAGEBOT_GATE_TOKEN is a placeholder" in capsys.readouterr().err


def test_the_help_lists_every_command_and_the_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["serve", "--help"], ["run-job", "--help"], ["replay", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
    out = capsys.readouterr().out
    for command in ("serve", "migrate", "demo", "draft", "gate", "replay", "run-job"):
        assert f"\n    {command} " in out, command
    words = " ".join(out.split())  # argparse wraps lines to the terminal's width
    assert "(default: 127.0.0.1)" in words and "(default: 8000)" in words
    for job in ("outbox", "sentry-reconcile", "pr-sync", "coverage-digest", "cleanup"):
        assert job in words
    assert "default: http://127.0.0.1:8000/webhooks/sentry" in words


def test_draft_without_out_says_where_it_wrote(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["draft", str(FIXTURES / "sentry" / "error.created.json")]) == 0
    out = capsys.readouterr().out
    assert f"into this directory ({tmp_path})" in out
    assert (tmp_path / ".triagebot" / "tests").is_dir()


def _settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_start_up_block_says_what_is_connected_and_warns_about_half_pairs() -> None:
    settings = _settings(
        slack_bot_token="xoxb-not-shown-anywhere",
        github_token="github_pat_not_shown_anywhere",
        sentry_api_token="sntrys_not_shown",
        database_url="postgresql://triage:pw-not-shown@db.internal/triagebot",
    )
    text = summary(settings, listening="http://127.0.0.1:8101")
    assert "TRIAGEBOT_SLACK_BOT_TOKEN is set without TRIAGEBOT_SLACK_SIGNING_SECRET" in text
    assert "without TRIAGEBOT_GITHUB_REPO" in text
    assert "TRIAGEBOT_SENTRY_API_TOKEN and TRIAGEBOT_SENTRY_ORG work together" in text
    assert "postgresql://triage:***@db.internal/triagebot" in text
    for leaked in ("xoxb-not-shown", "github_pat_not", "sntrys_not", "pw-not-shown"):
        assert leaked not in text


def test_a_complete_setup_has_no_warnings() -> None:
    settings = _settings(
        slack_bot_token="xoxb-1",
        slack_signing_secret="s" * 32,
        slack_channel="C0TRIAGE",
        github_token="t",
        github_repo="acme/shop",
        github_webhook_secret="w" * 32,
        sentry_api_token="x",
        sentry_org="acme",
        sentry_client_secret="c" * 32,
        gate_token="g" * 32,
        preview_hosts="*.vercel.app",
    )
    text = summary(settings, listening="http://127.0.0.1:8000")
    assert "warning" not in text
    assert "organization acme" in text and "acme/shop" in text and "*.vercel.app" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_links_carry_the_port_it_serves_on(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGEBOT_")}
    env["TRIAGEBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    triagebot = Path(sys.executable).with_name("triagebot")
    process = subprocess.Popen(
        [str(triagebot), "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "Uvicorn running" in line:
                break
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = "".join(lines)
    assert f"the dashboard login is http://127.0.0.1:{port}/login?token=" in text, text
    assert "triagebot: what is connected" in text
    assert "threads and their buttons are kept on the dashboard" in text
