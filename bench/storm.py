"""A storm: 10,000 signed events for one Sentry issue through a running triagebot, and what Slack saw.

Run: `python -m bench.storm [--events 10000] [--concurrency 16]`. triagebot runs as `triagebot serve`
on SQLite with its outbox worker, talking to a local Slack stand-in that records every call. Reports
how many messages and edits reached Slack, the highest rate over any one-second window, and how long
the outbox took to settle after the last webhook.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bench.intake import bodies, closed_loop, free_port, prepared, start
from tests.support.fake_slack import FakeSlack
from tests.support.signing import SENTRY_SECRET
from triagebot.db import migrate


def main() -> None:
    """Send the storm, wait for the outbox to settle, print what Slack received."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    slack = FakeSlack()
    workdir = Path(tempfile.mkdtemp(prefix="bench-storm-"))
    db = workdir / "storm.db"
    migrate(f"sqlite:///{db}")
    env = {
        **os.environ,
        "TRIAGEBOT_DATABASE_URL": f"sqlite:///{db}",
        "TRIAGEBOT_SENTRY_CLIENT_SECRET": SENTRY_SECRET,
        "TRIAGEBOT_SLACK_BOT_TOKEN": "xoxb-bench",
        "TRIAGEBOT_SLACK_API_URL": slack.base_url,
        "TRIAGEBOT_SLACK_CHANNEL": "CSTORM",
        "TRIAGEBOT_SCHEDULER_ENABLED": "false",
    }
    port = free_port()
    proc = start([sys.executable, "-m", "triagebot", "serve", "--no-migrate", "--port", str(port)], env, port)
    try:
        requests = prepared(port, bodies(args.events, issues=1))  # all for issue 700000
        began = time.monotonic()
        rps, _latencies = asyncio.run(closed_loop(port, requests, args.concurrency))
        sent = time.monotonic()
        while True:
            with sqlite3.connect(db) as conn:
                pending = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]
                count = conn.execute("SELECT event_count FROM issues WHERE id = '700000'").fetchone()[0]
            if pending == 0 or time.monotonic() - sent > 60:
                break
            time.sleep(0.2)
        settled = time.monotonic()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        slack.stop()
    calls = [call for call in slack.calls if call.method in ("chat.postMessage", "chat.update")]
    posts = [call for call in calls if call.method == "chat.postMessage"]
    times = sorted(call.at for call in calls)
    busiest = max((sum(1 for t in times if start_at <= t < start_at + 1.0) for start_at in times), default=0)
    print(f"\nstorm: {args.events:,} events for one issue at {rps:.0f} webhooks/s ({sent - began:.1f}s)")
    print(f"issue event count recorded: {count:,}")
    print(
        f"Slack: {len(posts)} message(s) (threads: {sum('thread_ts' not in c.args for c in posts)}), "
        f"{len(calls) - len(posts)} edit(s) of the root"
    )
    print(f"busiest one-second window: {busiest} Slack call(s) (the channel allows about 1 a second)")
    print(f"outbox settled {settled - sent:.1f}s after the last webhook ({pending} row(s) still pending)")


if __name__ == "__main__":
    main()
