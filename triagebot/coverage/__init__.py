"""Read-only queries behind `/triage coverage`, `/triage tests` and the dashboard."""
