"""The coverage query on a seeded database: window, ranking, states and totals, on both backends."""

from __future__ import annotations

from tests.coverage.seed import add_issues, add_tests, issue
from triagebot.bootstrap import Services
from triagebot.coverage import queries
from triagebot.db import transaction


def seed_window(services: Services) -> None:
    add_issues(
        services,
        issue("1", 500, 10),
        issue("2", 500, 20),  # same events as 1, more users: ranks first
        issue("3", 900, 90, days_ago=30),  # outside the default 14-day window
        issue("4", 100, 5, wont_test_reason="third-party widget", wont_test_by="U1"),
        issue("5", 50, 50, project_slug="api"),
        issue("6", 7, 1, last_seen=None),  # never seen (no last_seen): not in any window
    )


def test_gaps_are_ranked_by_events_then_users_within_the_window(services: Services) -> None:
    seed_window(services)
    with transaction(services.sessions) as session:
        report = queries.coverage(session)
    assert [(row.issue_id, row.state) for row in report.rows] == [("2", "none"), ("1", "none"), ("5", "none")]
    assert report.totals == queries.CoverageTotals(
        issues=4, active=0, drafts=0, excluded=1, gaps=3, events=1150, covered_events=0, excluded_events=100
    )
    assert report.totals.coverage == 0.0


def test_a_wider_window_and_one_project(services: Services) -> None:
    seed_window(services)
    with transaction(services.sessions) as session:
        wide = queries.coverage(session, days=40, project="web")
        everything = queries.coverage(session, states=tuple(queries.LABELS), limit=10)
    assert [row.issue_id for row in wide.rows] == ["3", "2", "1"]
    assert wide.totals.issues == 4 and wide.totals.events == 2000
    assert [(row.issue_id, row.label) for row in everything.rows] == [
        ("2", "no draft"),
        ("1", "no draft"),
        ("4", "won't test (excluded)"),
        ("5", "no draft"),
    ]


def test_each_test_state_and_event_weighted_coverage(services: Services) -> None:
    add_issues(
        services,
        issue("11", 1000, 1),
        issue("12", 800, 1),
        issue("13", 600, 1),
        issue("14", 400, 1),
        issue("15", 200, 1),
        issue("16", 100, 1, wont_test_reason="flaky vendor"),
        issue("17", 100, 1, wont_test_reason="changed our mind"),
        issue("18", 50, 1),
    )
    pr = "https://github.com/acme/shop/pull/"
    add_tests(
        services,
        [
            {
                "issue_id": "11",
                "spec_id": "s11",
                "state": "active",
                "pr_url": pr + "11",
                "verdict": "reproduced",
            },
            {"issue_id": "12", "spec_id": "s12", "state": "pr_open", "pr_url": pr + "12"},
            {"issue_id": "13", "spec_id": "s13", "state": "pr_closed", "pr_url": pr + "13"},
            {"issue_id": "14", "spec_id": "s14", "state": "failed"},
            {"issue_id": "15", "spec_id": "s15", "state": "drafting"},
            {
                "issue_id": "17",
                "spec_id": "s17",
                "state": "active",
                "pr_url": pr + "17",
                "verdict": "reproduced",
            },
            # Merged, but its verification never saw the issue's error: shown apart, covering nothing.
            {
                "issue_id": "18",
                "spec_id": "s18",
                "state": "active",
                "pr_url": pr + "18",
                "verdict": "not_reproduced",
            },
        ],
    )
    with transaction(services.sessions) as session:
        gaps = queries.coverage(session)
        everything = queries.coverage(session, states=tuple(queries.LABELS))
        one = queries.state_of_issue(session, "12")
    assert [(row.issue_id, row.label, row.pr_url) for row in gaps.rows] == [
        ("12", "draft PR open", pr + "12"),
        ("13", "PR closed unmerged", pr + "13"),
        ("14", "no draft", None),  # the draft failed: nothing to review
        ("15", "draft PR open", None),  # still being drafted
        ("18", "merged, not reproduced", pr + "18"),
    ]
    assert [row.state for row in everything.rows] == [
        "active",
        "draft",
        "closed",
        "none",
        "draft",
        "excluded",
        "active",
        "unproven",
    ]
    assert gaps.totals == queries.CoverageTotals(
        issues=8,
        active=2,
        drafts=2,
        excluded=1,
        gaps=5,
        events=3250,
        covered_events=1100,
        excluded_events=100,
    )
    assert gaps.totals.coverage == 1100 / 3150
    assert one == ("draft", pr + "12")


def test_totals_survive_when_nothing_is_uncovered(services: Services) -> None:
    add_issues(services, issue("9", 10, 1, wont_test_reason="noise"))
    with transaction(services.sessions) as session:
        report = queries.coverage(session)
    assert report.rows == []
    assert report.totals.issues == 1 and report.totals.excluded == 1
    assert report.totals.coverage is None  # nothing left to cover


def test_an_empty_window(services: Services) -> None:
    with transaction(services.sessions) as session:
        report = queries.coverage(session, project="nothing-here")
    assert report.rows == [] and report.totals == queries.CoverageTotals()
