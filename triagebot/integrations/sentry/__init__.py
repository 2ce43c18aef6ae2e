"""Sentry: webhook payload parsing and the web API client."""
