"""Sentry issue -> case -> Slack thread."""
