"""What a gate reports on its commit: status or check-run state, a one-line description, the summary."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from urllib.parse import quote

from triagebot.flags.models import FlagRollout
from triagebot.gates.models import GateResult, Selection
from triagebot.gates.report import markdown_summary
from triagebot.gates.tables import ERROR, FAILED, PASSED, QUEUED, RUNNING, SUPERSEDED, GateRun
from triagebot.settings import Settings

DESCRIPTION_MAX = 140  # GitHub truncates commit status descriptions; keep them whole
CHECK_SUMMARY_MAX = 65_000  # GitHub's limit on a check run's output.summary is 65535 characters

# gate state -> (commit status state, check run status, check run conclusion)
STATES: dict[str, tuple[str, str, str | None]] = {
    QUEUED: ("pending", "queued", None),
    RUNNING: ("pending", "in_progress", None),
    PASSED: ("success", "completed", "success"),
    FAILED: ("failure", "completed", "failure"),
    # Infrastructure trouble: never silence, never a false pass; neutral keeps a required check honest.
    ERROR: ("error", "completed", "neutral"),
    SUPERSEDED: ("error", "completed", "cancelled"),
}


@dataclass(frozen=True)
class CommitReport:
    """One report on a commit, ready for a commit status or a check run."""

    status_state: str
    check_status: str
    check_conclusion: str | None
    title: str
    description: str
    summary: str
    target_url: str


def gate_url(settings: Settings, gate_id: int) -> str:
    """Return the dashboard page of a gate run."""
    return f"{settings.public_url.rstrip('/')}/gates/{gate_id}"


def evidence_url(settings: Settings, gate_id: int, path: str) -> str:
    """Return the URL serving one evidence file (`<spec>/<file>` of the run's evidence folder)."""
    file = PurePath(path)
    spec, name = quote(file.parent.name, safe=""), quote(file.name, safe="")
    return f"{gate_url(settings, gate_id)}/evidence/{spec}/{name}"


def description(gate: GateRun, counts: dict[str, int]) -> str:
    """Say the verdict in one line of at most 140 characters."""
    if gate.state == QUEUED:
        text = "Regression gate queued"
    elif gate.state == RUNNING:
        text = "Regression gate running"
    elif gate.state == SUPERSEDED:
        text = "Superseded by a newer push; not gated"
    elif gate.state == ERROR and gate.error:
        text = f"Could not gate: {gate.error}"
    else:
        shown = [f"{n} {name}" for name, n in counts.items() if n]
        text = f"Regression gate {gate.state}: " + (", ".join(shown) or "no specs selected")
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"


def _md(text: str) -> str:
    """Keep outside text from breaking a markdown table or injecting HTML."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'")
    return " ".join(escaped.replace("<", "&lt;").replace(">", "&gt;").split())


def rollout_table(flags: Sequence[str], rollouts: Sequence[FlagRollout]) -> list[str]:
    """Render the touched flags' current stages as markdown lines (empty when no flag is touched)."""
    if not flags:
        return []
    lines = [
        "",
        "**Feature flags these tests touch**",
        "",
        "| flag | environment | stage | since |",
        "|---|---|---|---|",
    ]
    by_key: dict[str, list[FlagRollout]] = {}
    for rollout in rollouts:
        by_key.setdefault(rollout.key, []).append(rollout)
    for key in flags:
        found = by_key.get(key)
        if not found:
            lines.append(f"| `{_md(key)}` | - | no rollout recorded | - |")
            continue
        for rollout in found:
            stage = f"{rollout.percent}% ({rollout.state.replace('_', ' ')})"
            since = rollout.stage_since.strftime("%Y-%m-%d %H:%M UTC")
            lines.append(f"| `{_md(key)}` | {_md(rollout.environment)} | {stage} | {since} |")
    return lines


def selection_lines(selection: Selection | None) -> list[str]:
    """Say which specs were selected and why, one line each."""
    if selection is None:
        return []
    lines = ["", "<details><summary>Why these specs</summary>", ""]
    for chosen in selection.selected:
        lines.append(f"- `{_md(chosen.spec_id)}`: {_md('; '.join(chosen.reasons))}")
    if selection.skipped:
        lines.append(f"- not selected: {_md(', '.join(selection.skipped))}")
    lines += ["", "</details>"]
    return lines


def summary_markdown(
    settings: Settings,
    gate: GateRun,
    *,
    result: GateResult | None,
    spec_errors: Sequence[tuple[str, str]],
    rollouts: Sequence[FlagRollout],
) -> str:
    """Compose the gate's markdown summary: results, evidence links, selection, problems, flag stages."""
    assert gate.id is not None
    gate_id = gate.id
    lines: list[str] = []
    if gate.state == SUPERSEDED:
        lines.append(
            f"**Regression gate superseded**: {_md(gate.error or 'a newer push replaced this commit')}."
        )
    elif gate.state == ERROR:
        lines.append(f"**Regression gate could not run**: {_md(gate.error or 'infrastructure trouble')}.")
        lines.append("")
        lines.append("This is not a verdict on the change; re-run the gate once the problem is fixed.")
    if result is not None:
        if lines:
            lines.append("")
        lines.append(
            markdown_summary(result, link=lambda path: evidence_url(settings, gate_id, path)).rstrip()
        )
        lines += selection_lines(result.selection)
    elif gate.selection_reason:
        lines += ["", f"Selection: {_md(gate.selection_reason)}."]
    if spec_errors:
        lines += ["", "**Specs that do not validate** (reported, not run):", ""]
        lines += [f"- {_md(message)}" for _file, message in spec_errors]
    lines += rollout_table(gate.flags or [], rollouts)
    lines += ["", f"[Gate {gate_id} on the dashboard]({gate_url(settings, gate_id)})"]
    text = "\n".join(lines) + "\n"
    return text if len(text) <= CHECK_SUMMARY_MAX else text[: CHECK_SUMMARY_MAX - 40] + "\n\n(summary cut)\n"


def commit_report(settings: Settings, gate: GateRun, state: str, counts: dict[str, int]) -> CommitReport:
    """Build the report of a gate in `state` (the state it had when the report was queued)."""
    assert gate.id is not None
    status_state, check_status, conclusion = STATES[state]
    shown = gate.model_copy(update={"state": state})
    text = description(shown, counts)
    summary = gate.summary if state == gate.state and gate.summary else text + "\n"
    return CommitReport(
        status_state=status_state,
        check_status=check_status,
        check_conclusion=conclusion,
        title=text,
        description=text,
        summary=summary,
        target_url=gate_url(settings, gate.id),
    )
