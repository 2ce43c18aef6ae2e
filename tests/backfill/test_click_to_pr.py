"""The "Create regression test" button, from a signed Slack click to a pull request and back to the thread."""

from __future__ import annotations

import json
import threading

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col, select

from tests.backfill.conftest import ServicesFactory, click, open_thread
from tests.conftest import FIXTURES
from tests.support.fake_github import FakeGitHub
from tests.support.fake_slack import FakeSlack
from triagebot.app import create_app
from triagebot.backfill import service
from triagebot.backfill.models import FAILED, PR_OPEN, RegressionTest
from triagebot.bootstrap import Services
from triagebot.db import transaction, utcnow
from triagebot.messages import ids
from triagebot.outbox.models import DEAD, DONE, OutboxLane, OutboxMessage
from triagebot.spec import parse_spec
from triagebot.triage.models import Issue

REPO = "/repos/acme/shop"
ISSUE = "1117540176"  # event_alert.triggered.json
SPEC_ID = "sentry-1117540176"  # the fixture's issue has no short id, so the spec is named by issue id
BRANCH = f"triagebot/{SPEC_ID}"
API_EVENT = "api.issue_latest_event.javascript_browser.json"
PR = "<https://github.com/acme/shop/pull/1347|PR #1347>"


def regression_tests(services: Services) -> list[RegressionTest]:
    with services.sessions() as session:
        return list(session.execute(select(RegressionTest)).scalars())


def replies(slack: FakeSlack) -> list[str]:
    return [call.args["text"] for call in slack.of("chat.postMessage") if call.args.get("thread_ts")]


def root_lines(slack: FakeSlack) -> list[str]:
    """The test line of each edit of the root message, in order."""
    lines = []
    for call in slack.of("chat.update"):
        context = [b for b in call.args["blocks"] if b.get("block_id", "").startswith("t-")]
        lines.append(context[0]["elements"][0]["text"] if context else "")
    return lines


def make_due(services: Services) -> None:
    """Let waiting outbox rows run now, as if their backoff (and any rate-limited lane) had passed."""
    with transaction(services.sessions) as session:
        session.execute(
            update(OutboxMessage).where(col(OutboxMessage.status) == "pending").values(due_at=utcnow())
        )
        session.execute(update(OutboxLane).values(next_at=utcnow()))


def test_click_opens_one_pull_request_with_one_commit_and_reports_it_in_the_thread(
    client: TestClient, services: Services, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    issue_id = open_thread(client, services)
    assert issue_id == ISSUE
    [root] = fake_slack.of("chat.postMessage")
    main_sha = fake_github.repos["acme/shop"].refs["heads/main"]

    response = click(client, ids.CREATE_TEST, issue_id)
    assert response.status_code == 200
    assert [t.state for t in regression_tests(services)] == ["drafting"]
    assert fake_github.calls == []  # nothing leaves before the outbox runs
    services.outbox.drain()

    writes = [(call.verb, call.path) for call in fake_github.calls if call.verb != "GET"]
    assert writes == [
        ("POST", f"{REPO}/git/blobs"),
        ("POST", f"{REPO}/git/blobs"),
        ("POST", f"{REPO}/git/trees"),
        ("POST", f"{REPO}/git/commits"),
        ("POST", f"{REPO}/git/refs"),
        ("POST", f"{REPO}/pulls"),
    ]
    reads = [call.path for call in fake_github.calls if call.verb == "GET"]
    assert reads == [
        REPO,
        f"{REPO}/git/ref/heads/main",
        f"{REPO}/contents/.triagebot/config.yml",
        f"{REPO}/pulls",
        f"{REPO}/git/ref/heads/{BRANCH}",
        f"{REPO}/git/commits/{main_sha}",
    ]
    assert fake_github.of("GET", "/pulls")[0].query == {
        "head": f"acme:{BRANCH}",
        "state": "all",
        "sort": "created",
        "direction": "desc",
    }
    assert all(call.auth == "Bearer ghp_test" for call in fake_github.calls)
    [tree] = fake_github.of("POST", "/git/trees")
    repo = fake_github.repos["acme/shop"]
    assert tree.body["base_tree"] == repo.commits[main_sha]["tree"]
    assert [entry["path"] for entry in tree.body["tree"]] == [
        f".triagebot/tests/{SPEC_ID}.yml",
        f"e2e/regressions/{SPEC_ID}.spec.ts",
    ]
    [commit] = fake_github.of("POST", "/git/commits")
    assert commit.body["parents"] == [main_sha]
    [ref] = fake_github.of("POST", "/git/refs")
    assert ref.body["ref"] == f"refs/heads/{BRANCH}"
    assert repo.refs[f"heads/{BRANCH}"] == ref.body["sha"]
    [pull] = fake_github.of("POST", "/pulls")
    assert (pull.body["title"], pull.body["head"], pull.body["base"]) == (
        "Unverified: regression test for Sentry issue 1117540176: ReferenceError: heck is not defined",
        BRANCH,
        "main",
    )
    assert "https://slack.com/archives/C0TRIAGE/p1700000000000001" in pull.body["body"]
    assert "### Steps" in pull.body["body"]
    # No preview of the default branch, no verify.base_url, no TRIAGEBOT_VERIFY_URL: it says so first.
    assert pull.body["body"].startswith("**Unverified**: no build to verify against")

    # One commit on top of main adds exactly the spec and the rendered test; the spec loads.
    files = fake_github.files_at("acme/shop", BRANCH)
    assert sorted(files) == [
        f".triagebot/tests/{SPEC_ID}.yml",
        "README.md",
        f"e2e/regressions/{SPEC_ID}.spec.ts",
    ]
    spec = parse_spec(yaml.safe_load(files[f".triagebot/tests/{SPEC_ID}.yml"]))
    assert (spec.id, spec.issue.id) == (SPEC_ID, ISSUE)
    assert "@playwright/test" in files[f"e2e/regressions/{SPEC_ID}.spec.ts"]

    assert replies(fake_slack) == [
        ":grey_question: Unverified: no build to verify against is configured. "
        f"Drafted {PR} (`e2e/regressions/{SPEC_ID}.spec.ts`); merging it makes the test active."
    ]
    reply = fake_slack.of("chat.postMessage")[1]
    assert (reply.args["channel"], reply.args["thread_ts"]) == (
        "C0TRIAGE",
        root.args.get("ts", "1700000000.000001"),
    )
    assert root_lines(fake_slack) == [
        ":test_tube: Regression test: drafting…",
        f":test_tube: Regression test: {PR} (draft)",
    ]
    assert all(call.args["ts"] == "1700000000.000001" for call in fake_slack.of("chat.update"))
    [test] = regression_tests(services)
    assert (test.state, test.repo, test.branch, test.pr_number, test.spec_id, test.created_by) == (
        PR_OPEN,
        "acme/shop",
        BRANCH,
        1347,
        SPEC_ID,
        "U111",
    )
    assert test.spec_yaml == files[f".triagebot/tests/{SPEC_ID}.yml"]

    # Clicking again reuses the pull request: only the clicker is told where it is.
    click(client, ids.CREATE_TEST, issue_id, user="U222")
    services.outbox.drain()
    assert len(fake_github.of("POST", "/pulls")) == 1
    [ephemeral] = fake_slack.of("chat.postEphemeral")
    assert (ephemeral.args["user"], ephemeral.args["text"]) == ("U222", f":test_tube: Already drafted: {PR}")


def test_two_clicks_at_once_produce_one_draft_and_one_pull_request(
    client: TestClient, services: Services, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    issue_id = open_thread(client, services)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def press(user: str) -> None:
        barrier.wait()
        with transaction(services.sessions) as session:
            outcomes.append(service.request_test(session, issue_id=issue_id, user=user, channel="C0TRIAGE"))

    threads = [threading.Thread(target=press, args=(user,)) for user in ("U111", "U222")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["exists:drafting", "queued"]
    # ... and a third click over HTTP before the outbox ran.
    assert click(client, ids.CREATE_TEST, issue_id, user="U333").status_code == 200
    with services.sessions() as session:
        drafts = session.execute(
            select(OutboxMessage).where(col(OutboxMessage.kind) == service.OPEN_PR)
        ).all()
    assert len(drafts) == 1
    services.outbox.drain()
    assert len(fake_github.of("POST", "/pulls")) == 1
    assert len(fake_github.of("POST", "/git/refs")) == 1
    assert len(regression_tests(services)) == 1
    told = sorted(call.args["text"] for call in fake_slack.of("chat.postEphemeral"))
    assert told == [":hourglass_flowing_sand: A regression test for this issue is being drafted already."] * 2


def test_github_500_is_retried_and_the_branch_of_the_first_try_is_reused(
    client: TestClient, services: Services, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    issue_id = open_thread(client, services)
    fake_github.fail(502, path="/pulls", message="Server Error")  # after the branch was made
    click(client, ids.CREATE_TEST, issue_id)
    services.outbox.drain()
    [test] = regression_tests(services)
    assert test.state == "drafting"
    assert test.last_error == "GitHub GET /repos/acme/shop/pulls: 502 Server Error"
    assert replies(fake_slack) == []
    make_due(services)
    services.outbox.drain()
    # The second try found the branch and opened the PR from it: still one commit, one ref.
    assert len(fake_github.of("POST", "/git/commits")) == 1
    assert len(fake_github.of("POST", "/git/refs")) == 1
    assert len(fake_github.of("POST", "/pulls")) == 1
    [test] = regression_tests(services)
    assert (test.state, test.pr_number, test.last_error) == (PR_OPEN, 1347, None)
    assert f"Drafted {PR}" in replies(fake_slack)[0]


def test_rate_limit_waits_for_the_reset_and_a_lost_ref_race_reuses_the_winner(
    client: TestClient, services: Services, fake_github: FakeGitHub
) -> None:
    issue_id = open_thread(client, services)
    fake_github.rate_limit(reset_in=300)
    click(client, ids.CREATE_TEST, issue_id)
    services.outbox.drain()
    with services.sessions() as session:
        [row] = session.execute(
            select(OutboxMessage).where(col(OutboxMessage.kind) == service.OPEN_PR)
        ).scalars()
    assert row.status == "pending"
    assert row.last_error == "GitHub GET /repos/acme/shop: rate limited (403)"
    due = row.due_at if row.due_at.tzinfo else row.due_at.replace(tzinfo=utcnow().tzinfo)
    assert (due - utcnow()).total_seconds() > 250  # waits for x-ratelimit-reset, not a short backoff

    # Someone else's try creates the branch between our check and our POST /git/refs (422).
    repo = fake_github.repos["acme/shop"]
    winner = repo.refs["heads/main"]
    fake_github.before("/git/refs", lambda: repo.refs.__setitem__(f"heads/{BRANCH}", winner))
    make_due(services)
    services.outbox.drain()
    assert [call.path for call in fake_github.of("POST", "/git/refs")] == [f"{REPO}/git/refs"]
    [pull] = fake_github.of("POST", "/pulls")
    assert pull.body["head"] == BRANCH
    assert repo.pulls[0]["head"]["sha"] == winner
    assert regression_tests(services)[0].state == PR_OPEN


def test_no_repository_configured_is_said_in_the_thread(
    make_services: ServicesFactory, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    services = make_services(github_repo=None)
    with TestClient(create_app(services)) as client:
        issue_id = open_thread(client, services)
        click(client, ids.CREATE_TEST, issue_id)
    services.outbox.drain()
    assert fake_github.calls == []
    [text] = replies(fake_slack)
    assert text.startswith(":warning: Could not draft a regression test: no repository is configured")
    assert "TRIAGEBOT_GITHUB_REPO" in text
    [test] = regression_tests(services)
    assert test.state == FAILED
    assert root_lines(fake_slack)[-1] == ":test_tube: Regression test: drafting failed (see the thread)"
    with services.sessions() as session:
        statuses = {row.kind: row.status for row in session.execute(select(OutboxMessage)).scalars()}
    assert statuses[service.OPEN_PR] == DEAD
    assert statuses["slack.reply"] == DONE


def test_no_event_and_github_refusals_are_said_in_the_thread_and_a_new_click_retries(
    make_services: ServicesFactory, fake_slack: FakeSlack, fake_github: FakeGitHub
) -> None:
    services = make_services(sentry_api_token=None)  # no API: issue.created carries no event
    with TestClient(create_app(services)) as client:
        issue_id = open_thread(client, services, "issue.created.json")
        click(client, ids.CREATE_TEST, issue_id)
        services.outbox.drain()
        assert replies(fake_slack) == [
            ":warning: Could not draft a regression test: no event to draft from; configure "
            "TRIAGEBOT_SENTRY_API_TOKEN\nFix the cause and click *Create regression test* again."
        ]
        assert fake_github.calls == []

        with transaction(services.sessions) as session:  # the event arrives later (a new webhook)
            issue = session.get(Issue, issue_id)
            assert issue is not None
            issue.latest_event = json.loads((FIXTURES / "sentry" / API_EVENT).read_text())
        fake_github.fail(403, path="/git/blobs", message="Resource not accessible by personal access token")
        click(client, ids.CREATE_TEST, issue_id)
        services.outbox.drain()
    assert replies(fake_slack)[1] == (
        ":warning: Could not draft a regression test: GitHub POST /repos/acme/shop/git/blobs: 403 "
        "Resource not accessible by personal access token\n"
        "Fix the cause and click *Create regression test* again."
    )
    [test] = regression_tests(services)
    assert (test.state, test.attempt) == (FAILED, 2)
