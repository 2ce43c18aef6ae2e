"""Logging set-up and sentry-sdk for triagebot's own errors, with secrets scrubbed."""

from __future__ import annotations

import logging
from typing import Any

from triagebot.settings import Settings, secret

SECRET_WORDS = ["token", "secret", "signature", "authorization", "private_key", "password", "dsn", "cookie"]


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr in one readable line per record."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def setup_sentry(settings: Settings) -> bool:
    """Report triagebot's own errors to Sentry when SENTRY_DSN is set; return whether it was enabled."""
    dsn = secret(settings.sentry_dsn)
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    secrets = [
        secret(getattr(settings, name))
        for name in type(settings).model_fields
        if name.endswith(("token", "secret", "private_key"))
    ]
    known = [value for value in secrets if value]

    def _strip(event: Any, _hint: Any) -> Any:
        # Belt and braces: the denylist scrubs by key name; this removes the values wherever they hide.
        text = repr(event)
        if any(value in text for value in known):
            return _redact(event, known)
        return event

    sentry_sdk.init(
        dsn=dsn,
        send_default_pii=False,
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *SECRET_WORDS], recursive=True),
        before_send=_strip,
        environment=settings.mode,
        traces_sample_rate=0.0,
    )
    return True


def _redact(value: Any, known: list[str]) -> Any:
    if isinstance(value, str):
        for item in known:
            value = value.replace(item, "[Filtered]")
        return value
    if isinstance(value, dict):
        return {key: _redact(item, known) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(item, known) for item in value)
    return value
