"""`/triage` end to end: signed slash-command bodies through POST /slack/events, answers at the fake Slack."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.conftest import FIXTURES
from tests.coverage.seed import add_issues, add_tests, issue
from tests.support.fake_slack import FakeSlack
from tests.support.signing import slack_headers
from triagebot.bootstrap import Services
from triagebot.integrations.slack_response import RESPOND
from triagebot.outbox.models import OutboxMessage

HOOK = "/commands/T111/111/xxxxx"  # the fixture's response_url path, served by the fake Slack


def slash(
    client: TestClient, services: Services, fake_slack: FakeSlack, text: str, **fields: str
) -> list[dict[str, Any]]:
    """Send `/triage <text>` signed like Slack, deliver the answer, return what reached response_url."""
    form = dict(parse_qsl((FIXTURES / "slack" / "slash_command.form.txt").read_text().strip()))
    form.update(command="/triage", text=text, response_url=fake_slack.server.url + HOOK, **fields)
    body = urlencode(form).encode()
    response = client.post("/slack/events", content=body, headers=slack_headers(body))
    assert response.status_code == 200
    assert response.text == ""  # acked with an empty body: the answer follows through response_url
    wait_for_answer(services)
    services.outbox.drain()
    return [call.args for call in fake_slack.of("xxxxx")]


def wait_for_answer(services: Services, timeout: float = 20.0) -> None:
    """Bolt runs the listener after the ack; wait until it has queued the answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with services.sessions() as session:
            if session.execute(select(OutboxMessage).where(OutboxMessage.kind == RESPOND)).first():
                return
        time.sleep(0.05)
    raise AssertionError("no answer was queued")


def texts(body: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in body["blocks"] if block["type"] == "section"]


def test_help_lists_every_subcommand(client: TestClient, services: Services, fake_slack: FakeSlack) -> None:
    (answer,) = slash(client, services, fake_slack, "help")
    assert answer["response_type"] == "ephemeral"
    (text,) = texts(answer)
    for name in ("coverage", "tests", "gate", "flags", "flag", "help"):
        assert f"`/triage {name}" in text
    assert text.index("/triage coverage") < text.index("/triage help")


def test_coverage_ranks_gaps_with_totals_and_links(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    add_issues(
        services,
        issue("1", 500, 10, title="Cannot read <properties> of undefined & more"),
        issue("2", 500, 20),
        issue("3", 40, 4, wont_test_reason="vendor script"),
        issue("4", 900, 30),
        issue("5", 5, 1, project_slug="api"),
    )
    add_tests(services, [{"issue_id": "4", "spec_id": "s4", "state": "active", "verdict": "reproduced"}])
    (answer,) = slash(client, services, fake_slack, "coverage")
    assert answer["response_type"] == "ephemeral"
    head, *rows = texts(answer)
    assert head == (
        "*Test coverage, issues seen in the last 14 days*\n"
        "5 issues · 1 with active tests · 0 with drafts · 1 excluded (won't test) · *47.2%* of events covered"
    )
    sentry = "https://sentry.io/organizations/acme/issues"
    thread = "https://test-domain.slack.com/archives/C0TRIAGE/p1700000000"
    assert rows == [
        f"*1.* <{sentry}/2/|WEB-2: Error 2>\n500 events · 20 users · _no draft_ · <{thread}000002|thread>",
        f"*2.* <{sentry}/1/|WEB-1: Cannot read &lt;properties&gt; of undefined &amp; more>\n"
        f"500 events · 10 users · _no draft_ · <{thread}000001|thread>",
        f"*3.* <{sentry}/5/|WEB-5: Error 5>\n5 events · 1 users · _no draft_ · <{thread}000005|thread>",
    ]
    assert answer["text"] == "Coverage: 3 uncovered issues, 47.2% of events covered"


def test_coverage_for_one_project_over_more_days(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    add_issues(services, issue("1", 10, 1, days_ago=20), issue("2", 99, 1, days_ago=20, project_slug="api"))
    (answer,) = slash(client, services, fake_slack, "coverage web --days 30")
    head, row = texts(answer)
    assert head.startswith("*Test coverage in *web*, issues seen in the last 30 days*\n1 issues ·")
    assert row.startswith("*1.* <https://sentry.io/organizations/acme/issues/1/|WEB-1: Error 1>")


def test_share_posts_in_channel(client: TestClient, services: Services, fake_slack: FakeSlack) -> None:
    (answer,) = slash(client, services, fake_slack, "coverage --share")
    assert answer["response_type"] == "in_channel"
    assert texts(answer)[1] == "No uncovered issues in this window. :tada:"


def test_long_answers_are_split_into_messages(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    add_issues(services, *(issue(str(n), 1000 - n, 1) for n in range(1, 61)))
    first, second = slash(client, services, fake_slack, "coverage --top 60")
    assert len(first["blocks"]) == 50 and len(second["blocks"]) == 11
    assert first["text"].endswith("(1/2)") and second["text"].endswith("(2/2)")
    assert texts(second)[-1].startswith("*60.* <https://sentry.io/organizations/acme/issues/60/|")


def test_tests_lists_regression_tests(client: TestClient, services: Services, fake_slack: FakeSlack) -> None:
    (empty,) = slash(client, services, fake_slack, "tests")
    assert texts(empty) == [
        "No regression tests yet. Click *Create regression test* on an issue's thread to add one."
    ]


def test_tests_shows_state_and_pr(client: TestClient, services: Services, fake_slack: FakeSlack) -> None:
    add_issues(services, issue("1", 10, 1), issue("2", 20, 1))
    pr = "https://github.com/acme/shop/pull/7"
    add_tests(
        services,
        [
            {"issue_id": "1", "spec_id": "checkout-total", "state": "active", "verdict": "reproduced"},
            {"issue_id": "2", "spec_id": "cart-badge", "state": "pr_open", "pr_url": pr},
        ],
    )
    (answer,) = slash(client, services, fake_slack, "tests")
    assert texts(answer) == [
        "*Regression tests* (2)",
        "`checkout-total` <https://sentry.io/organizations/acme/issues/1/|WEB-1>: Error 1\n_active_",
        "`cart-badge` <https://sentry.io/organizations/acme/issues/2/|WEB-2>: Error 2\n"
        f"_draft PR open_ · <{pr}|PR>",
    ]


@pytest.mark.parametrize("text", ["gate 12", "flags"])
def test_gate_and_flag_subcommands_answer(
    client: TestClient, services: Services, fake_slack: FakeSlack, text: str
) -> None:
    (answer,) = slash(client, services, fake_slack, text)
    assert answer["response_type"] == "ephemeral"
    assert "not available" not in answer["text"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("frobnicate --share", ":warning: I don't know `/triage frobnicate`.\nTry one of these:"),
        (
            "coverage --days abc",
            ":warning: `--days` takes a whole number from 1 to 365, not `abc`\n"
            "Usage: `/triage coverage [project] [--days N] [--top N]`",
        ),
        (
            "coverage --days",
            ":warning: `--days` needs a value\nUsage: `/triage coverage [project] [--days N] [--top N]`",
        ),
        (
            "coverage web api",
            ":warning: unexpected `api`\nUsage: `/triage coverage [project] [--days N] [--top N]`",
        ),
        ('coverage "web', ":warning: could not read the arguments: No closing quotation\nTry one of these:"),
        (
            "tests everything",
            ":warning: `/triage tests` takes no arguments, not `everything`\nUsage: `/triage tests`",
        ),
    ],
)
def test_mistakes_get_a_helpful_private_answer(
    client: TestClient, services: Services, fake_slack: FakeSlack, text: str, problem: str
) -> None:
    (answer,) = slash(client, services, fake_slack, text)
    assert answer["response_type"] == "ephemeral"  # even with --share
    assert texts(answer)[0].startswith(problem)


def test_response_url_elsewhere_is_refused(
    client: TestClient, services: Services, fake_slack: FakeSlack
) -> None:
    form = dict(parse_qsl((FIXTURES / "slack" / "slash_command.form.txt").read_text().strip()))
    form.update(command="/triage", text="help", response_url="http://169.254.169.254/latest/meta-data")
    body = urlencode(form).encode()
    assert client.post("/slack/events", content=body, headers=slack_headers(body)).status_code == 200
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:  # give the listener time to (not) queue anything
        time.sleep(0.1)
    with services.sessions() as session:
        assert session.execute(select(OutboxMessage)).first() is None


def test_unsigned_commands_are_rejected(client: TestClient) -> None:
    body = b"command=%2Ftriage&text=help"
    headers = {**slack_headers(body), "X-Slack-Signature": "v0=" + "0" * 64}
    assert client.post("/slack/events", content=body, headers=headers).status_code == 401


def test_a_failed_post_is_retried(client: TestClient, services: Services, fake_slack: FakeSlack) -> None:
    fake_slack.fail("xxxxx", 500)
    assert slash(client, services, fake_slack, "help") == []  # the first post failed: kept for retry
    with services.sessions() as session:
        (row,) = session.execute(select(OutboxMessage)).scalars()
    assert (row.status, row.attempts) == ("pending", 1)
