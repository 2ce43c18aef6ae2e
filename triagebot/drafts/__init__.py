"""Sentry event -> regression spec -> rendered Playwright test -> pull request."""
