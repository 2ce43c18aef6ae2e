"""Webhook signature checks: HMAC-SHA256 over the raw body, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import time


def hmac_hex(secret: str, body: bytes) -> str:
    """Return the lowercase hex HMAC-SHA256 of `body` keyed with the UTF-8 `secret`."""
    return hmac.digest(secret.encode("utf-8"), body, hashlib.sha256).hex()  # the one-shot C path


def sentry_hook_headers(secret: str, resource: str, body: bytes) -> dict[str, str]:
    """Headers Sentry sends with a webhook of `resource`, signed over exactly `body`."""
    return {
        "Content-Type": "application/json",
        "Sentry-Hook-Resource": resource,
        "Sentry-Hook-Timestamp": str(int(time.time())),
        "Sentry-Hook-Signature": hmac_hex(secret, body),
    }


def sentry_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """Check `Sentry-Hook-Signature`: hex HMAC of the exact bytes Sentry posted (not re-serialised JSON)."""
    return bool(signature) and hmac.compare_digest(hmac_hex(secret, body), (signature or "").strip().lower())


def github_valid(secret: str, body: bytes, signature: str | None) -> bool:
    """Check `X-Hub-Signature-256: sha256=<hex>` (the SHA-1 header is legacy and ignored)."""
    if not signature or not signature.startswith("sha256="):
        return False
    return hmac.compare_digest("sha256=" + hmac_hex(secret, body), signature.strip().lower())
