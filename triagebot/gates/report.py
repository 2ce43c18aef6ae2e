"""How a gate run reads: progress lines, a plain-text summary, a markdown summary, and JUnit XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

from triagebot.gates.models import GateResult, SpecResult
from triagebot.gates.runner import ProgressEvent

XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
ICONS = {"passed": "PASS", "failed": "FAIL", "flaky": "FLAKY", "error": "ERROR"}
MD_ICONS = {"passed": "✅", "failed": "❌", "flaky": "⚠️", "error": "💥"}


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.1f}s"


def _status(result: SpecResult) -> str:
    text = ICONS[result.status]
    return f"{text} (quarantined)" if result.quarantined else text


def progress_line(event: ProgressEvent) -> str:
    """Render one progress event as a line for a terminal or CI log."""
    if event.kind == "started":
        return f"  ... {event.spec_id}"
    if event.kind == "retrying":
        return f"  ... {event.spec_id}: attempt {event.attempt} failed ({event.message}); retrying"
    assert event.result is not None
    result = event.result
    return f"  {_status(result):<6} {result.label} in {_seconds(result.duration_ms)}"


def summary_text(gate: GateResult) -> str:
    """Summarise a gate run for a terminal: verdict, counts, selection, and each failure's evidence."""
    took = _seconds(gate.duration_ms)
    lines = [f"Gate {gate.verdict.upper()}: {_counts(gate)} in {took} against {gate.base_url}"]
    if gate.selection is not None:
        lines.append(f"Selected {gate.selection.reason}.")
        for chosen in gate.selection.selected:
            lines.append(f"  - {chosen.spec_id}: {'; '.join(chosen.reasons)}")
        if gate.selection.skipped:
            lines.append(f"  not selected: {', '.join(gate.selection.skipped)}")
    for result in gate.results:
        lines.append(f"{_status(result):<6} {result.label} {_seconds(result.duration_ms)}")
        failure = result.failure
        if failure is None or result.status == "passed":
            continue
        where = f"{failure.step_label} " if failure.step_label else ""
        lines.append(f"       {where}({failure.step}): {failure.message}")
        evidence = failure.evidence
        for error in evidence.page_errors[:3]:
            lines.append(f"       page error: {error}")
        for response in evidence.failed_responses[:3]:
            lines.append(
                f"       response: {response.method} {response.url} -> {response.status or response.error}"
            )
        for blocked in evidence.blocked_requests[:3]:
            lines.append(f"       blocked (other origin): {blocked}")
        if evidence.screenshot:
            lines.append(f"       screenshot: {evidence.screenshot}")
        if evidence.trace:
            lines.append(f"       trace: {evidence.trace}  (playwright show-trace <file>)")
    if gate.count("flaky"):
        flaky = ", ".join(r.spec_id for r in gate.results if r.status == "flaky")
        lines.append(f"Flaky (passed on retry, not gating): {flaky}")
    if gate.quarantined:
        lines.append(f"Quarantined (reported, not gating): {', '.join(r.spec_id for r in gate.quarantined)}")
    return "\n".join(lines)


def _counts(gate: GateResult) -> str:
    parts = [f"{gate.count(status)} {status}" for status in ("passed", "failed", "flaky", "error")]
    return f"{len(gate.results)} spec{'' if len(gate.results) == 1 else 's'}: " + ", ".join(parts)


def _md(text: str) -> str:
    """Keep text from specs and pages from breaking (or injecting into) a markdown table."""
    escaped = text.replace("\\", "\\\\").replace("|", "\\|").replace("`", "'").replace("<", "&lt;")
    return " ".join(escaped.replace(">", "&gt;").split())


def markdown_summary(gate: GateResult, *, link: Callable[[str], str] | None = None) -> str:
    """Summarise a gate run as markdown (check-run body); `link` turns an evidence path into a URL."""
    link = link or (lambda path: path)
    lines = [f"**Regression gate {gate.verdict}**: {_counts(gate)} in {_seconds(gate.duration_ms)}", ""]
    if gate.selection is not None:
        lines += [f"Selection: {_md(gate.selection.reason)}.", ""]
    lines += ["| | test | issue | time | details |", "|---|---|---|---|---|"]
    for result in gate.results:
        icon = MD_ICONS[result.status] + (" (quarantined)" if result.quarantined else "")
        details = ""
        failure = result.failure
        if failure is not None and result.status != "passed":
            details = _md(f"{failure.step}: {failure.message}")
            if failure.evidence.screenshot:
                details += f" [screenshot]({link(failure.evidence.screenshot)})"
            if failure.evidence.trace:
                details += f" [trace]({link(failure.evidence.trace)})"
        issue = _md(result.short_id or result.issue_id)
        lines.append(
            f"| {icon} | `{_md(result.spec_id)}` | {issue} | {_seconds(result.duration_ms)} | {details} |"
        )
    if gate.count("flaky"):
        lines += [
            "",
            "Flaky (passed on retry, not gating): "
            + ", ".join(f"`{r.spec_id}`" for r in gate.results if r.status == "flaky"),
        ]
    if gate.quarantined:
        lines += [
            "",
            "Quarantined (reported, not gating): " + ", ".join(f"`{r.spec_id}`" for r in gate.quarantined),
        ]
    return "\n".join(lines) + "\n"


def junit_xml(gate: GateResult) -> str:
    """Render a gate run as JUnit XML; test case names carry the spec id and the Sentry issue."""
    suite = ET.Element(
        "testsuite",
        name="triagebot regressions",
        tests=str(len(gate.results)),
        failures=str(sum(1 for r in gate.results if r.status == "failed" and not r.quarantined)),
        errors=str(sum(1 for r in gate.results if r.status == "error" and not r.quarantined)),
        skipped="0",
        time=f"{gate.duration_ms / 1000:.3f}",
        timestamp=gate.started_at.isoformat(),
    )
    properties = ET.SubElement(suite, "properties")
    ET.SubElement(properties, "property", name="run_id", value=gate.run_id)
    ET.SubElement(properties, "property", name="base_url", value=gate.base_url)
    ET.SubElement(properties, "property", name="verdict", value=gate.verdict)
    for result in gate.results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname="triagebot.regressions",
            name=_xml(result.label),
            time=f"{result.duration_ms / 1000:.3f}",
        )
        case_properties = ET.SubElement(case, "properties")
        for name, value in (
            ("spec_id", result.spec_id),
            ("issue_id", result.issue_id),
            ("short_id", result.short_id or ""),
            ("status", result.status),
            ("quarantined", str(result.quarantined).lower()),
            ("attempts", str(len(result.attempts))),
        ):
            ET.SubElement(case_properties, "property", name=name, value=_xml(value))
        failure = result.failure
        if failure is None or result.status == "passed":
            continue
        text = _evidence_text(result)
        if result.status == "flaky" or result.quarantined:
            # Not gating: keep it visible to CI without failing the suite.
            ET.SubElement(case, "system-out").text = _xml(f"{result.status}; not gating\n{text}")
        else:
            tag = "error" if result.status == "error" else "failure"
            element = ET.SubElement(case, tag, message=_xml(failure.message), type=_xml(failure.step))
            element.text = _xml(text)
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _xml(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (page errors can contain anything)."""
    return XML_INVALID.sub("\ufffd", text)


def _evidence_text(result: SpecResult) -> str:
    failure = result.failure
    assert failure is not None
    evidence = failure.evidence
    lines = [f"{failure.step_label or 'checks'}: {failure.step}", failure.message]
    lines += [f"page error: {e}" for e in evidence.page_errors]
    lines += [f"console error: {e}" for e in evidence.console_errors]
    lines += [f"response: {r.method} {r.url} -> {r.status or r.error}" for r in evidence.failed_responses]
    lines += [f"blocked: {b}" for b in evidence.blocked_requests]
    lines += [f"screenshot: {evidence.screenshot}"] if evidence.screenshot else []
    lines += [f"[[ATTACHMENT|{evidence.trace}]]"] if evidence.trace else []
    return "\n".join(lines)
