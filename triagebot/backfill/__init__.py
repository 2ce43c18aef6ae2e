"""Backfill: from a Slack click to a reviewed regression-test pull request, and the thread's other buttons."""
