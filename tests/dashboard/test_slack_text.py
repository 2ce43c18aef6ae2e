"""Thread messages on the dashboard read as Slack shows them: emoji drawn, links and escapes undone."""

from __future__ import annotations

from triagebot.web.charts import slack_text


def test_emoji_codes_we_post_become_characters_and_unknown_ones_stay() -> None:
    assert slack_text(":test_tube: Drafted a test: <https://example.test/pr/1|PR #1>") == (
        "🧪 Drafted a test: PR #1 (https://example.test/pr/1)"
    )
    assert slack_text(":not_an_emoji: &lt;!channel&gt; &amp; more") == ":not_an_emoji: <!channel> & more"
