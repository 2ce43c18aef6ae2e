"""Two `triagebot serve` processes on one PostgreSQL under a webhook storm and concurrent clicks:
one thread per issue, one pull request per issue, every outbox row delivered once, one scheduler."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from copy import deepcopy

import httpx
import psycopg
import pytest

from tests.conftest import FIXTURES, create_pg_database
from tests.support.fake_github import FakeGitHub
from tests.support.fake_slack import FakeSlack
from tests.support.signing import (
    SENTRY_SECRET,
    SLACK_SECRET,
    click_body,
    compact,
    sentry_headers,
    slack_headers,
)
from triagebot.db import migrate
from triagebot.messages import ids

pytestmark = pytest.mark.postgres


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def two_instances(fake_slack: FakeSlack, fake_github: FakeGitHub) -> Iterator[tuple[list[str], str]]:
    url, drop = create_pg_database()
    migrate(url)
    env = {
        **os.environ,
        "TRIAGEBOT_DATABASE_URL": url,
        "TRIAGEBOT_SENTRY_CLIENT_SECRET": SENTRY_SECRET,
        "TRIAGEBOT_SLACK_BOT_TOKEN": "xoxb-test",
        "TRIAGEBOT_SLACK_API_URL": fake_slack.base_url,
        "TRIAGEBOT_SLACK_CHANNEL": "C0TRIAGE",
        "TRIAGEBOT_SLACK_INTERVAL_SECONDS": "0",
        "TRIAGEBOT_SLACK_SIGNING_SECRET": SLACK_SECRET,
        "TRIAGEBOT_GITHUB_TOKEN": "ghp_test",
        "TRIAGEBOT_GITHUB_API_URL": fake_github.url,
        "TRIAGEBOT_GITHUB_REPO": "acme/shop",
    }
    ports = [free_port(), free_port()]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "triagebot", "serve", "--port", str(port), "--no-migrate"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 60
        for base in bases:
            while True:
                try:
                    if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "service did not start"
                time.sleep(0.2)
        yield bases, url
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)
        drop()


def wait_for_outbox(url: str) -> None:
    """Wait until every outbox row is delivered; fail listing the rows that are not."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            pending = conn.execute("SELECT count(*) FROM outbox WHERE status <> 'done'").fetchone()
        if pending == (0,):
            return
        time.sleep(0.3)
    with psycopg.connect(url) as conn:
        stuck = conn.execute(
            "SELECT id, kind, status, last_error FROM outbox WHERE status <> 'done'"
        ).fetchall()
    assert stuck == []


def in_parallel(calls: list[tuple[str, bytes, dict[str, str]]]) -> list[str]:
    """POST every (url, body, headers) at once; return the failures."""
    failures: list[str] = []

    def post(url: str, body: bytes, headers: dict[str, str]) -> None:
        response = httpx.post(url, content=body, headers=headers, timeout=30)
        if response.status_code not in (200, 202):
            failures.append(f"{url} {response.status_code} {response.text}")

    threads = [threading.Thread(target=post, args=call) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


def test_two_processes_share_the_work_without_double_posting(
    two_instances: tuple[list[str], str], fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    bases, url = two_instances
    created = json.loads((FIXTURES / "sentry" / "issue.created.json").read_text())
    error = json.loads((FIXTURES / "sentry" / "error.created.json").read_text())
    requests: list[tuple[str, bytes]] = []
    for issue in range(6):
        for copy in range(3):  # the same issue.created delivered three times, to both instances
            payload = deepcopy(created)
            payload["data"]["issue"]["id"] = f"9000{issue}"
            payload["data"]["issue"]["shortId"] = f"SHOP-{issue}"
            requests.append(("issue", compact(payload)))
            event = deepcopy(error)
            event["data"]["error"]["issue_id"] = f"9000{issue}"
            event["data"]["error"]["event_id"] = f"{issue:016x}{copy:016x}"
            requests.append(("error", compact(event)))
    webhooks = [
        (bases[n % 2] + "/webhooks/sentry", body, sentry_headers(resource, body))
        for n, (resource, body) in enumerate(requests)
    ]
    assert in_parallel(webhooks) == []
    wait_for_outbox(url)
    roots = [call for call in fake_slack.of("chat.postMessage") if "thread_ts" not in call.args]
    assert len(roots) == 6
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id, thread_ts, event_count FROM issues ORDER BY id").fetchall()
        workers = conn.execute("SELECT DISTINCT claimed_by FROM outbox").fetchall()
        leaders = conn.execute("SELECT holder FROM leases WHERE name = 'scheduler'").fetchall()
    assert [(row[0], row[2]) for row in rows] == [(f"9000{n}", 3) for n in range(6)]
    assert len({row[1] for row in rows}) == 6
    # Every edit targets a posted root: no update was sent twice for the same version of a message.
    edits = Counter(json.dumps(call.args["blocks"][0]) for call in fake_slack.of("chat.update"))
    assert all(count == 1 for count in edits.values())
    assert len(workers) >= 1 and len(leaders) == 1

    # Two people click Create regression test on every issue at once, one through each instance.
    clicks = []
    for issue in range(6):
        for n, user in enumerate(("U111", "U222")):
            body = click_body(ids.CREATE_TEST, f"9000{issue}", user)
            clicks.append((bases[(issue + n) % 2] + "/slack/events", body, slack_headers(body)))
    assert in_parallel(clicks) == []
    # Each instance stores a click just after acking it: wait for the six branches, then the rest.
    deadline = time.monotonic() + 90
    while len(fake_github.of("POST", "/git/refs")) < 6 and time.monotonic() < deadline:
        time.sleep(0.3)
    wait_for_outbox(url)
    pulls = fake_github.repos["acme/shop"].pulls
    assert sorted(pull["head"]["ref"] for pull in pulls) == [f"triagebot/shop-{n}" for n in range(6)]
    assert len(fake_github.of("POST", "/git/refs")) == 6
