"""`/triage flag`, `/triage flags` and `/triage gate`: rollout changes and gate verdicts from Slack."""

from __future__ import annotations

from triagebot.db import reading, transaction
from triagebot.errors import BadInput
from triagebot.flags import service
from triagebot.flags.models import DEFAULT_ENVIRONMENT, FlagChange, FlagRollout
from triagebot.flags.notice import since
from triagebot.gates import service as gates
from triagebot.gates.commit_report import gate_url
from triagebot.messages.mrkdwn import SECTION_TEXT, code, link, safe
from triagebot.slackbot.command_registry import Answer, Invocation, UsageError, subcommand

FLAG_USAGE = "/triage flag <key> <percent>|rollback|pause|resume [reason] [--env E] [--pr N] [--force why]"
OPTIONS = ("--env", "--pr", "--force")
MAX_LISTED = 40
GATE_ICONS = {"passed": ":white_check_mark:", "failed": ":x:", "error": ":warning:"}


def _answer(text: str) -> Answer:
    block = {"type": "section", "text": {"type": "mrkdwn", "text": text[:SECTION_TEXT]}}
    return Answer(text=text, blocks=[block])


def _split(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """Split arguments into words and options; `--force` takes every word up to the next option."""
    words: list[str] = []
    options: dict[str, str] = {}
    index = 0
    while index < len(args):
        name, eq, inline = args[index].partition("=")
        index += 1
        if name not in OPTIONS:
            if name.startswith("--"):
                raise UsageError(f"unknown option `{name}`")
            words.append(args[index - 1])
            continue
        taken = [inline] if eq else []
        while index < len(args) and args[index].partition("=")[0] not in OPTIONS:
            if taken and name != "--force":
                break
            taken.append(args[index])
            index += 1
        value = " ".join(taken).strip()
        if not value:
            raise UsageError(f"`{name}` needs a value")
        options[name] = value
    return words, options


def parse_flag_args(invocation: Invocation) -> service.FlagRequest:
    """Read `/triage flag` arguments into a rollout request."""
    words, options = _split(invocation.args)
    if len(words) < 2:
        raise UsageError("name the flag and a percentage (or rollback, pause, resume)")
    key, what, rest = words[0], words[1].lower(), words[2:]
    percent: int | None = None
    if what in ("rollback", "pause", "resume"):
        action = what
    else:
        number = what.removesuffix("%")
        if not number.isdigit() or not 0 <= int(number) <= 100:
            raise UsageError(f"`{what}` is not a percentage from 0 to 100, nor rollback, pause or resume")
        action, percent = "set", int(number)
    pr_text = options.get("--pr")
    if pr_text is not None and not pr_text.lstrip("#").isdigit():
        raise UsageError(f"`--pr` takes a pull request number, not `{pr_text}`")
    return service.FlagRequest(
        key=key,
        actor=f"slack:{invocation.user_id}" if invocation.user_id else "slack",
        action=action,  # type: ignore[arg-type]
        percent=percent,
        environment=options.get("--env", DEFAULT_ENVIRONMENT),
        reason=" ".join(rest) or None,
        pr=int(pr_text.lstrip("#")) if pr_text else None,
        force=options.get("--force"),
        source="slack",
    )


def describe_change(rollout: FlagRollout, change: FlagChange) -> str:
    """Say what a change did, in mrkdwn."""
    before = "new" if change.from_percent is None else f"{change.from_percent}%"
    text = (
        f":triangular_flag_on_post: Flag {code(rollout.key, 300)} in {safe(rollout.environment, 200)}: "
        f"{before} → *{rollout.percent}%* ({rollout.state.replace('_', ' ')})."
    )
    if change.reason:
        text += f"\nWhy: {safe(change.reason, 1000)}"
    if change.override:
        text += f"\n:warning: Override recorded (refused because {safe(change.override_reason, 1500)})."
    return text


@subcommand("flag", FLAG_USAGE, "change a feature flag's rollout (refused while its gate fails)")
def flag_command(invocation: Invocation) -> Answer:
    """Advance, roll back, pause or resume a flag's rollout."""
    request = parse_flag_args(invocation)
    try:
        with transaction(invocation.services.sessions) as session:
            rollout, change = service.change_flag(session, request)
            text = describe_change(rollout, change)
    except service.FlagRefused as exc:
        reasons = "\n".join(f"• {safe(reason, 500)}" for reason in exc.reasons)
        return _answer(
            f":no_entry: Not advancing {code(request.key, 300)} in {safe(request.environment, 200)}:\n"
            f"{reasons}\nTo advance anyway, add `--force <why>`; the override is recorded with your name."
        )
    except BadInput as exc:
        raise UsageError(str(exc)) from None
    return _answer(text)


@subcommand("flags", "/triage flags", "every feature flag's rollout stage")
def flags_command(invocation: Invocation) -> Answer:
    """List every flag's current stage per environment."""
    if invocation.args:
        raise UsageError(f"unexpected `{invocation.args[0]}`")
    with reading(invocation.services.sessions) as session:
        rollouts = service.list_rollouts(session)
    if not rollouts:
        return _answer("No flag rollouts recorded yet. Record one with `/triage flag <key> <percent>`.")
    lines = [f"*Feature flag rollouts* ({len(rollouts)})"]
    for rollout in rollouts[:MAX_LISTED]:
        by = f", by {safe(rollout.updated_by, 100)}" if rollout.updated_by else ""
        lines.append(f"• {code(rollout.key, 200)} {service.stage_text(rollout)} since {since(rollout)}{by}")
    if len(rollouts) > MAX_LISTED:
        lines.append(f"…and {len(rollouts) - MAX_LISTED} more (see the dashboard)")
    return _answer("\n".join(lines))


@subcommand("gate", "/triage gate <pr> [owner/repo]", "the latest gate of a pull request")
def gate_command(invocation: Invocation) -> Answer:
    """Show the newest gate of a PR: its state, counts and link."""
    words = invocation.positional()
    if not words or not words[0].lstrip("#").isdigit() or len(words) > 2:
        raise UsageError("name a pull request number, e.g. `/triage gate 45`")
    pr, repo = int(words[0].lstrip("#")), (words[1] if len(words) > 1 else None)
    services = invocation.services
    with reading(services.sessions) as session:
        gate = gates.latest_gate_for_pr(session, pr, repo)
        results = gates.results_of(session, gate.id) if gate is not None and gate.id is not None else []
    if gate is None or gate.id is None:
        return _answer(f"No gate has run for PR #{pr} yet.")
    icon = GATE_ICONS.get(gate.state, ":hourglass:")
    lines = [
        f"{icon} Gate {link(gate_url(services.settings, gate.id), str(gate.id))} of "
        f"{safe(gate.repo, 200)} PR #{pr} at `{gate.sha[:7]}`: *{gate.state}*"
    ]
    if gate.error:
        lines.append(safe(gate.error, 500))
    if gate.selection_reason:
        lines.append(f"Selected {safe(gate.selection_reason, 300)}.")
    for result in results[:MAX_LISTED]:
        name = safe(result.short_id or result.issue_id, 100)
        lines.append(f"• {code(result.spec_id, 120)} ({name}): {result.outcome}")
    return _answer("\n".join(lines))
