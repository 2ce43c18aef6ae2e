"""The weekly coverage digest posted to the triage channel: gaps, tests added, gates failed, flags rolling."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlmodel import Session

from triagebot.coverage import queries, sources
from triagebot.db import transaction, utcnow
from triagebot.jobs.registry import CronTrigger, job
from triagebot.messages.mrkdwn import MESSAGE_TEXT, cut, link, safe
from triagebot.outbox.channel_posts import POST
from triagebot.outbox.store import enqueue

if TYPE_CHECKING:
    from triagebot.bootstrap import Services

WEEK = timedelta(days=7)
TOP = 5


@dataclass(frozen=True)
class Digest:
    """What happened in the last week."""

    report: queries.CoverageReport
    tests_added: int
    tests_activated: int
    gates_failed: list[tuple[str, int | None, str]]  # (repo, pr, sha)
    flags_rolling: list[tuple[str, str, int]]  # (key, environment, percent)


def gather(session: Session, *, now: datetime) -> Digest:
    """Collect the week's figures."""
    since = now - WEEK
    report = queries.coverage(session, days=7, limit=TOP, now=now)
    digest: dict[str, Any] = {"report": report}
    tests = sources.regression_tests()
    digest["tests_added"] = session.execute(
        select(func.count()).select_from(tests).where(tests.c.created_at >= since)
    ).scalar_one()
    digest["tests_activated"] = session.execute(
        select(func.count()).select_from(tests).where(tests.c.merged_at >= since)
    ).scalar_one()
    runs = sources.gate_runs()
    digest["gates_failed"] = [
        (str(repo), pr, str(sha))
        for repo, pr, sha in session.execute(
            select(runs.c.repo, runs.c.pr, runs.c.sha)
            .where(runs.c.state == "failed", runs.c.finished_at >= since)
            .order_by(runs.c.id.desc())
            .limit(10)
        ).all()
    ]
    rollouts = sources.flag_rollouts()
    digest["flags_rolling"] = [
        (str(key), str(env), int(percent))
        for key, env, percent in session.execute(
            select(rollouts.c.key, rollouts.c.environment, rollouts.c.percent)
            .where(rollouts.c.state.in_(("rolling", "paused")), rollouts.c.percent < 100)
            .order_by(rollouts.c.key)
        ).all()
    ]
    return Digest(**digest)


def render(digest: Digest, *, dashboard_url: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Build the digest message: fallback text and blocks."""
    totals = digest.report.totals
    coverage = "-" if totals.coverage is None else f"{totals.coverage * 100:.1f}%"
    lines = [
        f"*Weekly regression coverage*: {coverage} of this week's events hit issues with an active test "
        f"({totals.active} of {totals.issues} issues; {totals.excluded} excluded)."
    ]
    lines.append(f"Tests: {digest.tests_added} drafted, {digest.tests_activated} merged and active.")
    failed = ", ".join(
        f"{safe(repo, 100)}#{pr}" if pr else f"{safe(repo, 100)}@{sha[:7]}"
        for repo, pr, sha in digest.gates_failed
    )
    lines.append(f"Gates failed: {len(digest.gates_failed)}" + (f" ({failed})" if failed else "") + ".")
    rolling = ", ".join(
        f"`{safe(key, 80)}` {pct}% ({safe(env, 40)})" for key, env, pct in digest.flags_rolling
    )
    lines.append("Flags in rollout: " + (rolling or "none") + ".")
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}}]
    if digest.report.rows:
        gaps = [
            f"{rank}. {link(row.web_url, row.short_id or row.issue_id)} {safe(row.title, 150)}: "
            f"{row.events:,} events, {row.users:,} users, _{row.label}_"
            for rank, row in enumerate(digest.report.rows, start=1)
        ]
        text = "*Biggest uncovered issues*\n" + "\n".join(gaps)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": cut(text, 3000)}})
    if dashboard_url:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": link(dashboard_url, "Open the dashboard")}],
            }
        )
    return cut(lines[0].replace("*", ""), MESSAGE_TEXT), blocks


def queue_digest(services: Services, *, now: datetime | None = None) -> str:
    """Queue this week's digest for the default channel (once per ISO week, however often it runs)."""
    channel = services.settings.slack_channel
    if not channel:
        return "skipped: no TRIAGEBOT_SLACK_CHANNEL"
    now = now or utcnow()
    year, week, _ = now.isocalendar()
    with transaction(services.sessions) as session:
        text, blocks = render(
            gather(session, now=now), dashboard_url=services.settings.public_url.rstrip("/") + "/"
        )
        queued = enqueue(
            session,
            POST,
            {"channel": channel, "text": text, "blocks": blocks},
            lane=f"slack:{channel}",
            dedupe_key=f"digest:{year}-W{week:02d}",
        )
    services.outbox.kick()
    return (
        f"queued the {year}-W{week:02d} digest"
        if queued
        else f"the {year}-W{week:02d} digest was already queued"
    )


@job("coverage-digest", CronTrigger(day_of_week="mon", hour=9), "Post the weekly coverage digest", 300)
def coverage_digest(services: Services) -> str:
    """Post the weekly coverage digest to the triage channel."""
    return queue_digest(services)
