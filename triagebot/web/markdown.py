"""Markdown from our reports and pull request bodies, rendered to HTML safe to put on the dashboard.

The text carries strings from outside (page errors, Sentry titles), so the rendered HTML goes
through an allow-list sanitizer: only layout tags survive, links keep http(s) targets only.
"""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

TAGS = {
    "p", "h1", "h2", "h3", "h4", "ul", "ol", "li", "code", "pre", "strong", "em", "a", "blockquote", "br",
    "hr", "table", "thead", "tbody", "tr", "th", "td", "details", "summary", "del",
}  # fmt: skip
# GitHub renders `<details>` in PR bodies and check summaries; ours use it to fold long lists.
_PARSER = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def render_markdown(text: str | None) -> Markup:
    """Render Markdown (with the HTML GitHub allows in it) to sanitized HTML."""
    html = _PARSER.render(text or "")
    return Markup(nh3.clean(html, tags=TAGS, attributes={"a": {"href"}}, url_schemes={"http", "https"}))
