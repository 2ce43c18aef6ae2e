"""Feature-flag rollout records and their link to Sentry issues and gates."""
