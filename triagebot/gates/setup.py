"""The data-setup contract between a gate and the preview it tests.

A spec with `setup: {path, fixture, data}` asks the preview to create the records it needs. Before the
first step the runner POSTs to `<preview origin><setup.path>` (default `/__triagebot/setup`) the JSON

    {"action": "up", "fixture": "<fixture>", "data": {...}, "run_id": "<gate run>-<spec>-<attempt>",
     "timestamp": <unix seconds>}

and after the last step (pass or fail) the same body with `"action": "down"`, so the app can remove
what `up` created for that `run_id`. Headers:

    Content-Type: application/json
    X-Triagebot-Timestamp: <unix seconds, the same value as in the body>
    X-Triagebot-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed by TRIAGEBOT_GATE_SETUP_SECRET>

The app must compare the signature in constant time over the exact bytes received, check that the body's
timestamp equals the header and is within five minutes of its clock (the timestamp is inside the signed
body, so a captured call cannot be replayed later), and answer 2xx; anything else fails the spec before
its steps run. Redirects are not followed. The endpoint should exist only in preview deployments.
`triagebot.demo.sampleapp.verify_setup_request` is a reference implementation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Literal

SIGNATURE_HEADER = "X-Triagebot-Signature"
TIMESTAMP_HEADER = "X-Triagebot-Timestamp"


def signed_setup_request(
    secret: str,
    *,
    action: Literal["up", "down"],
    fixture: str,
    data: dict[str, Any],
    run_id: str,
    now: float | None = None,
) -> tuple[str, dict[str, str]]:
    """Build the body and headers of one signed setup call."""
    timestamp = int(time.time() if now is None else now)
    body = json.dumps(
        {"action": action, "fixture": fixture, "data": data, "run_id": run_id, "timestamp": timestamp},
        separators=(",", ":"),
        sort_keys=True,
    )
    digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"sha256={digest}",
    }
    return body, headers
