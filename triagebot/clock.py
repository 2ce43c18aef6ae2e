"""The one clock: timezone-aware UTC now, which every table's timestamps use."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC (SQLModel's UTCDateTime requires it)."""
    return datetime.now(UTC)
