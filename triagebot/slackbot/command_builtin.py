"""The built-in `/triage` subcommands: help, coverage and tests (gate and flags come from the gate flow)."""

from __future__ import annotations

from triagebot.coverage import queries, tests_query
from triagebot.db import reading
from triagebot.messages.mrkdwn import link, safe
from triagebot.slackbot.command_registry import Answer, Invocation, UsageError, sorted_commands, subcommand

MAX_DAYS = 365
MAX_TOP = 200
DEFAULT_TOP = 20


def section(text: str) -> dict[str, object]:
    """A mrkdwn section block."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def thread_link(channel: str | None, ts: str | None, team_domain: str | None) -> str | None:
    """Return a link to an issue's Slack thread (a message permalink when the workspace is known)."""
    if not (channel and ts):
        return None
    if team_domain and team_domain.replace("-", "").isalnum():
        return f"https://{team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return f"https://slack.com/app_redirect?channel={channel}"


def int_option(invocation: Invocation, flag: str, default: int, low: int, high: int) -> int:
    """Read `--flag N` as an integer in [low, high]."""
    raw = invocation.option(flag)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise UsageError(f"`{flag}` takes a whole number from {low} to {high}, not `{raw}`")
    return int(raw)


def percent(value: float | None) -> str:
    """Format a ratio as a percentage, or a dash when undefined."""
    return "-" if value is None else f"{value * 100:.1f}%"


@subcommand("help", "/triage help", "this list")
def help_command(invocation: Invocation) -> Answer:
    """List every subcommand."""
    del invocation
    lines = ["*/triage* answers only you unless you add `--share`."]
    lines.extend(f"• `{sub.usage}` - {sub.summary}" for sub in sorted_commands())
    text = "\n".join(lines)
    return Answer(text=text, blocks=[section(text)])


@subcommand(
    "coverage",
    "/triage coverage [project] [--days N] [--top N]",
    "Sentry issues with no active regression test, by events and users",
)
def coverage_command(invocation: Invocation) -> Answer:
    """Rank the uncovered issues seen in the window and give the totals."""
    days = int_option(invocation, "--days", queries.DEFAULT_DAYS, 1, MAX_DAYS)
    top = int_option(invocation, "--top", DEFAULT_TOP, 1, MAX_TOP)
    positional = invocation.positional("--days", "--top")
    unknown = [
        arg
        for arg in invocation.args
        if arg.startswith("--") and arg.split("=")[0] not in ("--days", "--top")
    ]
    if unknown or len(positional) > 1:
        raise UsageError(f"unexpected `{(unknown or positional[1:])[0]}`")
    project = positional[0] if positional else None
    with reading(invocation.services.sessions) as session:
        report = queries.coverage(session, project=project, days=days, limit=top)
    return render_coverage(report, team_domain=invocation.team_domain)


def render_coverage(report: queries.CoverageReport, *, team_domain: str | None) -> Answer:
    """Render a coverage report: totals, then one block per uncovered issue."""
    totals = report.totals
    scope = f" in *{safe(report.project, 200)}*" if report.project else ""
    head = (
        f"*Test coverage{scope}, issues seen in the last {report.days} days*\n"
        f"{totals.issues:,} issues · {totals.active:,} with active tests · {totals.drafts:,} with drafts · "
        f"{totals.excluded:,} excluded (won't test) · *{percent(totals.coverage)}* of events covered"
    )
    blocks = [section(head)]
    if not report.rows:
        blocks.append(section("No uncovered issues in this window. :tada:"))
    for rank, row in enumerate(report.rows, start=1):
        name = row.short_id or f"issue {row.issue_id}"
        title = link(row.web_url, f"{name}: {row.title}", 600)
        parts = [f"{row.events:,} events", f"{row.users:,} users", f"_{row.label}_"]
        if row.pr_url:
            parts.append(link(row.pr_url, "PR"))
        thread = thread_link(row.channel, row.thread_ts, team_domain)
        if thread:
            parts.append(link(thread, "thread"))
        blocks.append(section(f"*{rank}.* {title}\n" + " · ".join(parts)))
    if totals.gaps > len(report.rows):
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Showing {len(report.rows)} of {totals.gaps:,}; use `--top N`.",
                    }
                ],
            }
        )
    fallback = f"Coverage: {totals.gaps:,} uncovered issues, {percent(totals.coverage)} of events covered"
    return Answer(text=fallback, blocks=blocks)


@subcommand("tests", "/triage tests", "regression tests with their last gate result and flakiness")
def tests_command(invocation: Invocation) -> Answer:
    """List the regression tests."""
    if invocation.args:
        raise UsageError(f"`/triage tests` takes no arguments, not `{invocation.args[0]}`")
    with reading(invocation.services.sessions) as session:
        rows = tests_query.list_tests(session)
    if not rows:
        text = "No regression tests yet. Click *Create regression test* on an issue's thread to add one."
        return Answer(text=text, blocks=[section(text)])
    blocks = [section(f"*Regression tests* ({len(rows):,})")]
    for row in rows:
        name = row.short_id or f"issue {row.issue_id}"
        parts = [f"_{safe(row.state_label, 100)}_"]
        if row.last_status:
            parts.append(f"last gate: *{safe(row.last_status, 40)}*")
        if row.runs:
            parts.append(f"flaky {row.flaky}/{row.runs} runs")
        if row.pr_url:
            parts.append(link(row.pr_url, "PR"))
        blocks.append(
            section(
                f"`{safe(row.spec_id, 200)}` {link(row.web_url, name)}: {safe(row.title, 300)}\n"
                + " · ".join(parts)
            )
        )
    return Answer(text=f"{len(rows)} regression tests", blocks=blocks)
