"""Small inline SVG charts and text helpers for the dashboard (no JavaScript, nothing fetched)."""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import TYPE_CHECKING

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from triagebot.coverage.pages import DayBar, FlagTimeline

SLACK_LINK = re.compile(r"<((?:https?://|mailto:)[^|>]+)\|([^>]*)>")
SLACK_BARE = re.compile(r"<((?:https?://)[^|>]+)>")
SLACK_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]*)>")


# The Slack emoji codes our messages use, shown as the characters Slack would draw.
EMOJI = {
    "bust_in_silhouette": "👤",
    "eyes": "👀",
    "hourglass": "⌛",
    "hourglass_flowing_sand": "⏳",
    "large_orange_circle": "🟠",
    "no_entry": "⛔",
    "no_entry_sign": "🚫",
    "red_circle": "🔴",
    "rewind": "⏪",
    "rotating_light": "🚨",
    "tada": "🎉",
    "test_tube": "🧪",
    "triangular_flag_on_post": "🚩",
    "warning": "⚠️",
    "white_check_mark": "✅",
    "x": "❌",
    "zipper_mouth_face": "🤐",
}
EMOJI_CODE = re.compile(r":([a-z_]+):")


def slack_text(text: str | None) -> str:
    """Turn Slack mrkdwn we posted into plain text for HTML (autoescaping then makes it safe)."""
    if not text:
        return ""
    text = SLACK_DATE.sub(r"\1", text)
    text = SLACK_LINK.sub(r"\2 (\1)", text)
    text = SLACK_BARE.sub(r"\1", text)
    text = EMOJI_CODE.sub(lambda match: EMOJI.get(match.group(1), match.group(0)), text)
    # Our messages escape &, < and > for Slack; undo that, the template escapes for HTML instead.
    return html.unescape(text)


def safe_url(url: str | None) -> str:
    """Return an http(s) URL unchanged, anything else (javascript:, data:) as an inert '#'."""
    return url if url and url.startswith(("https://", "http://")) else "#"


def first_seen_chart(bars: list[DayBar], width: int = 640, height: int = 160) -> Markup:
    """Bars of issues first seen per day, the part with an active test drawn over them in green."""
    if not bars:
        return Markup("")
    top = max((bar.issues for bar in bars), default=0) or 1
    slot = width / len(bars)
    inner = height - 20
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="Issues first seen per day, and how many have an active test">'
    ]
    for index, bar in enumerate(bars):
        x = index * slot + 1
        total_h = inner * bar.issues / top
        covered_h = inner * bar.covered / top
        label = escape(f"{bar.day.isoformat()}: {bar.issues} new issues, {bar.covered} with an active test")
        parts.append(f"<g><title>{label}</title>")
        parts.append(
            f'<rect x="{x:.1f}" y="{inner - total_h:.1f}" width="{slot - 2:.1f}" height="{total_h:.1f}" '
            f'class="bar-all"/>'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{inner - covered_h:.1f}" width="{slot - 2:.1f}" height="{covered_h:.1f}" '
            f'class="bar-covered"/></g>'
        )
    first, last = bars[0].day.isoformat(), bars[-1].day.isoformat()
    parts.append(f'<text x="0" y="{height - 4}" class="axis">{first}</text>')
    parts.append(f'<text x="{width}" y="{height - 4}" text-anchor="end" class="axis">{last}</text>')
    parts.append(f'<text x="0" y="12" class="axis">max {top}/day</text></svg>')
    return Markup("".join(parts))


def rollout_chart(timeline: FlagTimeline, *, now: datetime, width: int = 640, height: int = 120) -> Markup:
    """A step line of a flag's rollout percentage over time, one dot per change."""
    changes = [change for change in timeline.changes if change.get("at") is not None]
    if not changes:
        return Markup("")
    start = changes[0]["at"]
    span = max((now - start).total_seconds(), 1.0)
    inner = height - 20

    def x_of(when: datetime) -> float:
        return 4 + (width - 8) * (when - start).total_seconds() / span

    def y_of(percent: int) -> float:
        return 4 + (inner - 8) * (1 - percent / 100)

    points: list[str] = []
    dots: list[str] = []
    level = changes[0].get("from_percent") or 0
    for change in changes:
        x = x_of(change["at"])
        points.append(f"{x:.1f},{y_of(level):.1f}")
        level = int(change["to_percent"])
        points.append(f"{x:.1f},{y_of(level):.1f}")
        tip = escape(f"{change['at']:%Y-%m-%d %H:%M} {change['action']} to {level}% by {change['actor']}")
        dots.append(f'<circle cx="{x:.1f}" cy="{y_of(level):.1f}" r="3"><title>{tip}</title></circle>')
    points.append(f"{width - 4:.1f},{y_of(level):.1f}")
    name = escape(f"Rollout of {timeline.key} in {timeline.environment}")
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-label="{name}">'
        f'<line x1="0" x2="{width}" y1="{y_of(100):.1f}" y2="{y_of(100):.1f}" class="grid"/>'
        f'<polyline points="{" ".join(points)}" class="rollout"/>{"".join(dots)}'
        f'<text x="0" y="{height - 4}" class="axis">{start:%Y-%m-%d}</text>'
        f'<text x="{width}" y="{height - 4}" text-anchor="end" class="axis">now</text></svg>'
    )
