"""Scheduled jobs: one registry, one thin wrapper per job."""
