"""Making outside text safe for Slack: escaping and cutting to Block Kit's limits."""

from __future__ import annotations

# Block Kit limits (api.slack.com/reference/block-kit): section text 3000, a field 2000,
# header 150, button text 75, context element 2000; message `text` is cut well before 40000.
SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
CONTEXT_TEXT = 2000
MESSAGE_TEXT = 3900


def escape(text: str | None) -> str:
    """Escape `&`, `<` and `>` so `<!channel>`, `<@U123>` and `<url|label>` stay inert text."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """Cut text to `limit` characters, marking the cut with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe(text: str | None, limit: int) -> str:
    """Escape, then cut without splitting an entity such as `&amp;`."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    head = escaped[: limit - 1]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head + "…"


def plain(text: str | None, limit: int) -> str:
    """Cut text for a plain_text object, which Slack never parses for mentions or links."""
    return cut(text or "", limit)


def code(text: str | None, limit: int) -> str:
    """Render outside text as inline code: escaped, with backticks neutralised."""
    inner = safe((text or "").replace("`", "'"), limit - 2)  # a backtick would end the code span
    return f"`{inner}`" if inner else ""


def link(url: str | None, label: str, limit: int = SECTION_TEXT) -> str:
    """Make a mrkdwn link to an http(s) URL we trust, with an escaped label."""
    if not url or not url.startswith(("https://", "http://")):
        return safe(label, limit)
    href = url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
    return f"<{href}|{safe(label, max(10, limit - len(href) - 3))}>"
