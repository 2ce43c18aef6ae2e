"""triagebot: Sentry errors become Slack threads, regression tests and gated previews."""

__version__ = "0.1.0"
