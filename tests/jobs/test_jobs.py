"""The coverage flow's jobs (digest, reminders, cleanup) and the scheduler's leases."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from tests.conftest import make_settings
from tests.coverage.seed import add_issues, add_tests, issue
from tests.support.fake_slack import FakeSlack
from triagebot.bootstrap import Services, build_services
from triagebot.db import transaction, utcnow
from triagebot.jobs.registry import JOBS, IntervalTrigger, Job
from triagebot.jobs.scheduler import Scheduler, run_job
from triagebot.outbox.models import DONE, OutboxMessage
from triagebot.triage.models import Delivery


def test_weekly_digest_posts_once_a_week(services: Services, fake_slack: FakeSlack) -> None:
    add_issues(services, issue("1", 300, 3, title="<!channel> boom"), issue("2", 50, 5), issue("3", 10, 1))
    add_tests(
        services,
        [
            {
                "issue_id": "3",
                "spec_id": "s3",
                "state": "active",
                "verdict": "reproduced",
                "merged_at": utcnow(),
            }
        ],
    )
    assert run_job(services, "coverage-digest").startswith("queued the ")
    assert run_job(services, "coverage-digest").endswith("digest was already queued")
    services.outbox.drain()
    (post,) = fake_slack.of("chat.postMessage")
    assert post.args["channel"] == "C0TRIAGE"
    summary, gaps, footer = post.args["blocks"]
    assert summary["text"]["text"].splitlines() == [
        "*Weekly regression coverage*: 2.8% of this week's events hit issues with an active test "
        "(1 of 3 issues; 0 excluded).",
        "Tests: 1 drafted, 1 merged and active.",
        "Gates failed: 0.",
        "Flags in rollout: none.",
    ]
    assert gaps["text"]["text"].splitlines() == [
        "*Biggest uncovered issues*",
        "1. <https://sentry.io/organizations/acme/issues/1/|WEB-1> &lt;!channel&gt; boom: "
        "300 events, 3 users, _no draft_",
        "2. <https://sentry.io/organizations/acme/issues/2/|WEB-2> Error 2: 50 events, 5 users, _no draft_",
    ]
    assert footer["elements"][0]["text"] == "<http://triagebot.test/|Open the dashboard>"


def test_reminder_replies_in_the_thread_of_an_old_draft(services: Services, fake_slack: FakeSlack) -> None:
    add_issues(services, issue("1", 10, 1), issue("2", 10, 1))
    pr = "https://github.com/acme/shop/pull/4"
    add_tests(
        services,
        [
            {"issue_id": "1", "state": "pr_open", "pr_url": pr, "created_at": utcnow() - timedelta(days=4)},
            {"issue_id": "2", "state": "pr_open", "pr_url": pr, "created_at": utcnow() - timedelta(days=1)},
        ],
    )
    assert run_job(services, "draft-reminders") == "queued 1 reminders"
    assert run_job(services, "draft-reminders") == "queued 0 reminders"  # once per three days
    services.outbox.drain()
    (reply,) = fake_slack.of("chat.postMessage")
    assert reply.args["thread_ts"] == "1700000000.000001"
    assert reply.args["text"].startswith(":hourglass: The draft regression test <" + pr + "|pull request>")


def test_cleanup_deletes_old_rows_and_evidence(services: Services, tmp_path: Path) -> None:
    old, recent = utcnow() - timedelta(days=40), utcnow() - timedelta(days=1)
    with transaction(services.sessions) as session:
        for key, when in (("old", old), ("new", recent)):
            session.add(Delivery(source="sentry", key=key, resource="issue", received_at=when))
            session.add(OutboxMessage(kind="slack.reply", status=DONE, done_at=when, dedupe_key=key))
    evidence = services.settings.data_dir / "evidence"
    (evidence / "run-old").mkdir(parents=True)
    (evidence / "run-new").mkdir(parents=True)
    stale = evidence / "run-old" / "shot.png"
    fresh = evidence / "run-new" / "trace.zip"
    stale.write_bytes(b"png")
    fresh.write_bytes(b"zip")
    os.utime(stale, (old.timestamp(), old.timestamp()))
    outside = tmp_path / "keep-me.txt"
    outside.write_text("not evidence")
    os.utime(outside, (old.timestamp(), old.timestamp()))
    (evidence / "run-new" / "link").symlink_to(outside)
    os.utime(evidence / "run-new" / "link", (old.timestamp(), old.timestamp()), follow_symlinks=False)

    assert run_job(services, "cleanup") == "deleted 1 deliveries, 1 outbox rows, 2 evidence files"
    with services.sessions() as session:
        assert [d.key for d in session.execute(select(Delivery)).scalars()] == ["new"]
        assert [m.dedupe_key for m in session.execute(select(OutboxMessage)).scalars()] == ["new"]
    assert not (evidence / "run-old").exists() and fresh.exists()
    assert outside.read_text() == "not evidence"  # a symlink is removed, never followed


@pytest.fixture
def counting_job() -> object:
    """A job that records its runs and can be held running."""
    state = {"runs": 0, "started": threading.Event(), "release": threading.Event()}

    def run(_services: Services) -> str:
        state["runs"] += 1  # type: ignore[operator]
        state["started"].set()  # type: ignore[union-attr]
        state["release"].wait(30)  # type: ignore[union-attr]
        return "counted"

    JOBS["test-counter"] = Job(id="test-counter", trigger=IntervalTrigger(hours=1), run=run, max_seconds=60)
    yield state
    JOBS.pop("test-counter", None)


@pytest.mark.postgres
def test_only_one_scheduler_on_postgres_fires_jobs(
    counting_job: dict, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    from tests.conftest import create_pg_database
    from triagebot.tables import create_schema

    url, drop = create_pg_database()
    try:
        create_schema(url)
        first = build_services(make_settings(url, tmp_path))
        second = build_services(make_settings(url, tmp_path))
        one, two = Scheduler(first), Scheduler(second)
        counting_job["release"].set()
        one.start()
        two.start()
        try:
            assert (one.leader, two.leader) == (True, False)
            two._fire("test-counter")
            assert counting_job["runs"] == 0  # the follower fires nothing
            one._fire("test-counter")
            assert counting_job["runs"] == 1
            one.stop()  # the leader leaves: the other takes over at its next heartbeat
            two._heartbeat()
            assert two.leader is True
        finally:
            one.stop()
            two.stop()
            first.engine.dispose()
            second.engine.dispose()
    finally:
        drop()


def test_a_running_job_is_not_started_twice(services: Services, counting_job: dict) -> None:
    results: list[str] = []
    worker = threading.Thread(target=lambda: results.append(run_job(services, "test-counter")))
    worker.start()
    assert counting_job["started"].wait(30)
    assert run_job(services, "test-counter") == "skipped: already running"
    counting_job["release"].set()
    worker.join(30)
    assert results == ["counted"] and counting_job["runs"] == 1
    assert run_job(services, "test-counter") == "counted"  # finished runs give the lease back
