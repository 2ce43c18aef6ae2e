"""Pure Slack rendering: mrkdwn escaping, Block Kit messages and action ids, with no I/O."""
