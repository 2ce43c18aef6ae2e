"""Logging set-up and sentry-sdk for triagebot's own errors, with secrets scrubbed."""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import SecretStr

from triagebot.settings import Settings, secret

MIN_SECRET_LINE = 16
SECRET_WORDS = ["token", "secret", "signature", "authorization", "private_key", "password", "dsn", "cookie"]


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr in one readable line per record."""
    logging.basicConfig(level=level, format=LOG_FORMAT)
    quiet_chatty_loggers()


def quiet_chatty_loggers() -> None:
    """Keep libraries that log routine work at INFO to warnings."""
    # APScheduler logs every run of every job at INFO; our job wrapper already says what each did.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def setup_sentry(settings: Settings) -> bool:
    """Report triagebot's own errors to Sentry when SENTRY_DSN is set; return whether it was enabled."""
    dsn = secret(settings.sentry_dsn)
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    known = secret_values(settings)

    def _strip(event: Any, _hint: Any) -> Any:
        # Belt and braces: the denylist scrubs by key name; this removes the values wherever they hide
        # (messages, breadcrumbs, frame locals under innocent names, tags, contexts).
        return _redact(event, known)

    sentry_sdk.init(
        dsn=dsn,
        send_default_pii=False,
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *SECRET_WORDS], recursive=True),
        before_send=_strip,
        environment=settings.mode,
        traces_sample_rate=0.0,
    )
    return True


def secret_values(settings: Settings) -> list[str]:
    """Return every configured secret and each line of a multi-line one, longest first."""
    # A PEM key leaks a line at a time (in a traceback, a log message); longest first replaces a
    # whole value before any of its parts. Keys pasted into `.env` often carry literal `\n`s.
    found: set[str] = set()
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if not isinstance(value, SecretStr) or not value.get_secret_value():
            continue
        text = value.get_secret_value()
        found.add(text)
        found.update(line.strip() for line in re.split(r"\r?\n|\\n", text) if _secret_line(line.strip()))
    return sorted(found, key=len, reverse=True)


def _secret_line(line: str) -> bool:
    # PEM armour ("-----BEGIN ... KEY-----") is public; short lines would redact ordinary words.
    return len(line) >= MIN_SECRET_LINE and not line.startswith("-----")


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
