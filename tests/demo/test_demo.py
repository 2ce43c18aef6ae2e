"""`triagebot demo` end to end as a subprocess (as `make demo` runs it), and the pieces it is built from."""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from triagebot.demo.narration import DemoError
from triagebot.demo.setup import ISSUE_ID, MARKER, bind, demo_settings, fresh_workdir, sentry_webhook_body
from triagebot.integrations.sentry.webhooks import parse_webhook

ROOT = Path(__file__).resolve().parents[2]
SPEC = "tiny-shop-1"  # the spec is named after the issue's short id, TINY-SHOP-1


def run_demo(cwd: Path, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `python -m triagebot demo` headless, the way `make test` does."""
    return subprocess.run(
        [sys.executable, "-m", "triagebot", "demo", "--no-pause", "--port", "0", "--workdir", "demo", *extra],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )


@pytest.mark.browser
def test_demo_runs_the_whole_loop(tmp_path: Path) -> None:
    # A user's .env pointing at real accounts must not leak into the demo.
    (tmp_path / ".env").write_text(
        "TRIAGEBOT_SLACK_BOT_TOKEN=xoxb-not-for-the-demo\nTRIAGEBOT_DATABASE_URL=postgresql://nowhere/db\n"
    )
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / MARKER).write_text("")
    (tmp_path / "demo" / "left-over-from-last-run").write_text("")

    done = run_demo(tmp_path)

    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    marks = re.findall(r"^ ?(\d)/9 (.) ", out, flags=re.M)
    assert marks == [(str(n), "✓") for n in range(1, 10)]
    assert f"thread opened for Sentry issue {ISSUE_ID}" in out
    assert "│ [Create regression test] [Assign to me] [Assign to…] [Resolve] [Archive] [Won't test]" in out
    assert f"PR branch triagebot/{SPEC} created in demo/tinyshop (local PR #1)" in out
    stat = re.findall(r"^ +│  (\S+) +\| +\d+ \++$", out, flags=re.M)  # git log --stat of the branch
    assert stat == [f".triagebot/tests/{SPEC}.yml", f"e2e/regressions/{SPEC}.spec.ts"]
    assert re.search(
        r"verified before the PR opened: reproduced on http://127\.0\.0\.1:\d+: step 5 \(click "
        r"testid=apply-coupon\): TypeError: Cannot read properties of undefined",
        out,
    ), out
    assert "the regression test is active" in out
    assert f"Buggy build FAILED (gate #1: {SPEC} failed)" in out
    assert "failing step: click testid=apply-coupon" in out
    assert "error: page error TypeError: Cannot read properties of undefined (reading 'discount')" in out
    evidence = re.findall(r"(screenshot|trace): (demo/data/evidence/\S+)", out)
    assert [kind for kind, _ in evidence] == ["screenshot", "trace"]
    assert all((tmp_path / path).is_file() and (tmp_path / path).stat().st_size > 0 for _, path in evidence)
    assert f"Fixed build PASSED (gate #2: {SPEC} passed)" in out
    assert "regression test fails on the preview of" in out  # the gate's reply reached the local thread
    login = re.search(r"dashboard, signed in:  (http://127\.0\.0\.1:\d+)/login\?token=\S+&next=/issues/", out)
    assert login is not None

    # The work dir was made afresh and holds the merged test on main.
    demo = tmp_path / "demo"
    assert not (demo / "left-over-from-last-run").exists()
    assert (demo / "triagebot.db").is_file()
    tree = subprocess.run(
        ["git", "-C", str(demo / "tinyshop"), "ls-tree", "-r", "--name-only", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert f".triagebot/tests/{SPEC}.yml" in tree
    assert f"e2e/regressions/{SPEC}.spec.ts" in tree
    assert {".triagebot/config.yml", "static/app.js", "page.html", "server.py"} <= set(tree)

    # The fixed build was gated on its own commit: the gate history tells the two builds apart.
    log = subprocess.run(
        ["git", "-C", str(demo / "tinyshop"), "log", "--format=%H %s", "main"], capture_output=True, text=True
    ).stdout.splitlines()
    assert log[0].split(" ", 1)[1].startswith("Fix: ")
    with sqlite3.connect(demo / "triagebot.db") as db:
        gated = [sha for (sha,) in db.execute("SELECT sha FROM gate_runs ORDER BY id")]
        issues = dict(db.execute("SELECT id, short_id FROM issues"))
        slugs = {slug for (slug,) in db.execute("SELECT project_slug FROM issues")}
    assert gated[1] == log[0].split(" ", 1)[0] and gated[0] != gated[1]
    # Several issues, only one with a test, so the coverage ranking has something to rank.
    assert len(issues) == 4 and issues[ISSUE_ID] == "TINY-SHOP-1" and slugs == {"tiny-shop"}

    # How to send one's own events to the running demo: its URL and secret are left for `replay --demo`.
    assert "triagebot replay EVENT.json --demo demo" in out
    info = json.loads((demo / "replay.json").read_text())
    assert info["url"].endswith("/webhooks/sentry") and len(info["sentry_client_secret"]) == 64
    assert (demo / "replay.json").stat().st_mode & 0o077 == 0


def test_demo_without_chromium_says_how_to_install_it(tmp_path: Path) -> None:
    done = run_demo(tmp_path, env={"TRIAGEBOT_CHROMIUM_PATH": str(tmp_path / "no-chromium")})

    assert done.returncode == 1
    assert done.stdout.splitlines()[1].startswith(" 1/9 ✗ Checking for git and Chromium (")
    assert "`make demo` does it for you" in done.stdout
    assert "`playwright install chromium` or `apt-get install chromium`" in done.stdout
    assert not (tmp_path / "demo").exists()  # nothing was set up


def test_work_dir_is_recreated_only_when_the_demo_made_it(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(DemoError, match="is not a demo work dir"):
        fresh_workdir(mine)
    assert (mine / "notes.txt").read_text() == "keep me"

    made = fresh_workdir(tmp_path / "demo")
    (made / "old.db").write_text("")
    again = fresh_workdir(tmp_path / "demo")
    assert again == made and sorted(p.name for p in again.iterdir()) == [MARKER]


def test_taken_port_falls_back_to_a_free_one() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sock, moved = bind(port)
        try:
            assert moved and sock.getsockname()[1] not in (port, 0)
        finally:
            sock.close()
    sock, moved = bind(0)
    sock.close()
    assert not moved


def test_settings_ignore_the_users_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("TRIAGEBOT_SLACK_BOT_TOKEN=xoxb-real\nTRIAGEBOT_GITHUB_TOKEN=ghp_real\n")
    monkeypatch.chdir(tmp_path)
    settings = demo_settings(tmp_path, url="http://127.0.0.1:9", dashboard_token="d", gate_token="g")
    assert settings.slack_bot_token is None and settings.github_token is None
    assert settings.local_repo_path == tmp_path / "tinyshop"
    assert settings.preview_hosts == ["127.0.0.1"] and settings.database_url.startswith("sqlite:///")


def test_replayed_event_names_the_issue_and_the_buggy_build() -> None:
    from datetime import UTC, datetime

    body = sentry_webhook_body("http://127.0.0.1:5555", datetime(2026, 1, 2, tzinfo=UTC))

    assert b"tinyshop.example.com" not in body
    report = parse_webhook("event_alert", json.loads(body))
    assert (report.key, report.issue_id, report.level) == ("event_alert.triggered", ISSUE_ID, "error")
    assert report.title == "TypeError: Cannot read properties of undefined (reading 'discount')"
    assert report.event is not None and report.event["request"]["url"] == "http://127.0.0.1:5555/cart"
    assert report.first_seen == datetime(2026, 1, 2, tzinfo=UTC)
