"""Slack: Bolt listeners and pure Block Kit builders."""
