"""The demo's narration: numbered steps with marks and timings, progress while waiting, and plain
terminal renderings of what the service made (a thread's message, a spec, a rendered test)."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TextIO, TypeVar

import yaml

T = TypeVar("T")

WAIT_SECONDS = 60.0
PREVIEW_LINES = 8
POLL_SECONDS = 0.2


class DemoError(Exception):
    """A step could not complete; the message says why and what to do."""

    shown = False  # printed under its step's line already


@dataclass
class Narrator:
    """Prints numbered steps with a mark and a timing, details below them, and progress while waiting."""

    total: int
    out: TextIO = field(default_factory=lambda: sys.stdout)
    live: bool = False  # a terminal: progress is one line rewritten in place
    number: int = 0
    _details: list[str] | None = None  # collected during a step, printed under its line
    _status: str = ""

    def say(self, text: str = "") -> None:
        """Print a line (clearing any progress line first)."""
        if self._status and self.live:
            print("\r\033[K", end="", file=self.out)
        self._status = ""
        print(text, file=self.out, flush=True)

    def detail(self, text: str) -> None:
        """Print an indented line under the current step (after its ✓ or ✗ line)."""
        lines = [f"       {line}" for line in (text.splitlines() or [""])]
        if self._details is None:
            for line in lines:
                self.say(line)
        else:
            self._details += lines

    def progress(self, text: str, waited: float) -> None:
        """Show what is being waited for: rewritten in place on a terminal, once per change otherwise."""
        if self.live:
            self._status = text
            print(f"\r\033[K       … {text} ({waited:.0f}s)", end="", file=self.out, flush=True)
        elif text != self._status:
            self._status = text
            print(f"       … {text}", file=self.out, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[Callable[[str], None]]:
        """Run one numbered step; yields a function that replaces the title with what was found."""
        self.number += 1
        start = time.monotonic()
        done = [title]
        self._details = []
        mark = "✗"
        try:
            yield lambda text: done.__setitem__(0, text)
            mark = "✓"
        except DemoError as exc:
            self._details.append(f"       error: {exc}")
            exc.shown = True
            raise
        finally:
            details, self._details = self._details, None
            self.say(f"{self.number:>2}/{self.total} {mark} {done[0]} ({time.monotonic() - start:.1f}s)")
            for line in details:
                self.say(line)


def wait_for(
    narrator: Narrator,
    what: str,
    check: Callable[[], T | None],
    *,
    status: Callable[[], str] = lambda: "",
    timeout: float = WAIT_SECONDS,
) -> T:
    """Poll `check` until it returns something, showing progress; DemoError on timeout."""
    start = time.monotonic()
    while True:
        found = check()
        if found is not None:
            return found
        waited = time.monotonic() - start
        now = status()
        if waited > timeout:
            raise DemoError(f"gave up after {timeout:.0f}s waiting for {what}" + (f" ({now})" if now else ""))
        narrator.progress(f"{what}: {now}" if now else f"waiting for {what}", waited)
        time.sleep(POLL_SECONDS)


def printable(text: str) -> str:
    """Drop control characters, so text from an event cannot drive the terminal."""
    return "".join(ch for ch in text if ch >= " " or ch == "\t")


BOLD = re.compile(r"\*([^*\n]+)\*")
FIELDS_PER_LINE = 4


def terminal_lines(text: str | None) -> list[str]:
    """Slack mrkdwn we posted, as plain terminal lines."""
    from triagebot.web.charts import slack_text

    text = BOLD.sub(r"\1", slack_text(text))
    return [printable(line) for line in text.splitlines() if line.strip()]


def render_message(blocks: list[dict[str, Any]], text: str) -> list[str]:
    """Render a Block Kit message as a few plain lines: header, sections, fields, context, buttons."""
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(printable(str(block.get("text", {}).get("text", ""))))
        elif kind == "section":
            lines += terminal_lines(block.get("text", {}).get("text"))
            # A field is "*Name*\nvalue": shown as "Name: value", a few to a line.
            fields = [": ".join(terminal_lines(f.get("text"))) for f in block.get("fields", [])]
            for start in range(0, len(fields), FIELDS_PER_LINE):
                lines.append(" · ".join(fields[start : start + FIELDS_PER_LINE]))
        elif kind == "context":
            lines += [line for e in block.get("elements", []) for line in terminal_lines(e.get("text"))]
        elif kind == "actions":
            # Selects have a placeholder where buttons have text.
            elements = block.get("elements", [])
            labels = [(e.get("text") or e.get("placeholder") or {}).get("text", "") for e in elements]
            lines.append(" ".join(f"[{printable(label)}]" for label in labels))
    return lines or terminal_lines(text)


def spec_excerpt(text: str) -> list[str]:
    """A spec's first lines, then its steps and assertions in one line each."""
    data = yaml.safe_load(text)
    steps = [f"from {data.get('start', '/')}"]
    for step in data.get("steps", []):
        locator = step.get("locator") or {}
        target = f"{locator.get('strategy')}={locator.get('value')}" if locator else ""
        if step.get("action") == "fill":
            target += f" {json.dumps(step.get('value'))}"
        elif step.get("action") in ("goto", "expect_url", "request"):
            target = f"{step.get('method', '')} {step.get('path')}".strip()
        steps.append(f"{step.get('action')} {target}".strip())
    checks = data.get("assertions") or {}
    expects = []
    if checks.get("page_error"):
        expects.append(f"no {checks['page_error'].get('type') or 'page error'} thrown")
    if checks.get("no_server_errors"):
        expects.append("no 5xx answers")
    if checks.get("text_absent"):
        expects.append(f"{len(checks['text_absent'])} text(s) absent")
    lines = [*text.splitlines()[:PREVIEW_LINES], "…", "steps: " + " → ".join(steps)]
    return [printable(line) for line in [*lines, "expects: " + ", ".join(expects or ["nothing"])]]


def test_excerpt(text: str) -> list[str]:
    """A rendered test's import line, then the lines that drive the page."""
    lines = text.splitlines()
    head = [line for line in lines if line.startswith("import ")][:2]
    body = [line for line in lines if line.strip().startswith("await page.")]
    return [printable(line) for line in [*head, "…", *body, "…"]]
