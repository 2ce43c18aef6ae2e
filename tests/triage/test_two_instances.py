"""Two `triagebot serve` processes on one PostgreSQL: one thread per issue, every row delivered once."""

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
from tests.support.fake_slack import FakeSlack
from tests.support.signing import SENTRY_SECRET, compact, sentry_headers
from triagebot.db import migrate

pytestmark = pytest.mark.postgres


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def two_instances(fake_slack: FakeSlack) -> Iterator[tuple[list[str], str]]:
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


def test_two_processes_share_the_work_without_double_posting(
    two_instances: tuple[list[str], str], fake_slack: FakeSlack
) -> None:
    bases, url = two_instances
    created = json.loads((FIXTURES / "sentry" / "issue.created.json").read_text())
    error = json.loads((FIXTURES / "sentry" / "error.created.json").read_text())
    requests: list[tuple[str, bytes]] = []
    for issue in range(6):
        for copy in range(3):  # the same issue.created delivered three times, to both instances
            payload = deepcopy(created)
            payload["data"]["issue"]["id"] = f"9000{issue}"
            requests.append(("issue", compact(payload)))
            event = deepcopy(error)
            event["data"]["error"]["issue_id"] = f"9000{issue}"
            event["data"]["error"]["event_id"] = f"{issue:016x}{copy:016x}"
            requests.append(("error", compact(event)))
    failures: list[str] = []

    def fire(n: int, resource: str, body: bytes) -> None:
        response = httpx.post(
            bases[n % 2] + "/webhooks/sentry",
            content=body,
            headers=sentry_headers(resource, body),
            timeout=30,
        )
        if response.status_code != 202:
            failures.append(f"{response.status_code} {response.text}")

    threads = [threading.Thread(target=fire, args=(n, *req)) for n, req in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with psycopg.connect(url) as conn:
            pending = conn.execute("SELECT count(*) FROM outbox WHERE status <> 'done'").fetchone()
        if pending == (0,):
            break
        time.sleep(0.3)
    with psycopg.connect(url) as conn:
        stuck = conn.execute(
            "SELECT id, kind, status, last_error FROM outbox WHERE status <> 'done'"
        ).fetchall()
    assert stuck == []
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
