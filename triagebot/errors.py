"""The exception tree.

TriagebotError
  BadInput                  - something we were given is wrong; carries a message naming the problem
    MalformedPayload        - a webhook body that is not JSON or not the declared shape (HTTP 400)
    UnsupportedEvent        - a known sender's event we deliberately do not handle (HTTP 200 and a log line)
    SpecError               - a regression spec that does not validate (names the file and the field)
    RefusedHost             - a gate asked to browse a host outside TRIAGEBOT_PREVIEW_HOSTS
  DeliveryError             - an outbound call failed (raised by adapters, handled by the outbox)
    RetryLater              - worth retrying: rate limit, 5xx, network trouble; `after` in seconds if known
    PermanentFailure        - retrying cannot help (4xx such as channel_not_found, bad credentials)
  NotConfigured             - a feature was used without the settings it needs
"""

from __future__ import annotations


class TriagebotError(Exception):
    """Base of every error triagebot raises on purpose."""


class BadInput(TriagebotError):
    """Input from outside is wrong; the message names the problem."""


class MalformedPayload(BadInput):
    """A webhook body that is not JSON or lacks a required field."""


class UnsupportedEvent(BadInput):
    """A known resource or action that triagebot does not act on."""


class SpecError(BadInput):
    """A regression spec that does not validate."""

    def __init__(self, file: str, field: str, message: str) -> None:
        super().__init__(f"{file}: {field}: {message}")
        self.file, self.field, self.message = file, field, message


class RefusedHost(BadInput):
    """A host the gate may not browse."""


class DeliveryError(TriagebotError):
    """An outbound call failed."""


class RetryLater(DeliveryError):
    """A failure worth retrying, optionally after a server-given delay in seconds."""

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


class PermanentFailure(DeliveryError):
    """A failure retrying cannot fix."""


class NotConfigured(TriagebotError):
    """A feature was used without the settings it needs."""
