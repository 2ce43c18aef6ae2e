"""A small world for the dashboard: issues, a local thread, tests, a failed gate with evidence, flags."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from datetime import timedelta
from typing import Any

from tests.coverage.seed import add_issues, add_tests, issue
from triagebot.bootstrap import Services
from triagebot.db import transaction, utcnow
from triagebot.flags.models import FlagChange, FlagRollout
from triagebot.gates.tables import GateRun, GateSpecResult
from triagebot.triage.models import Issue


def png(width: int = 8, height: int = 8) -> bytes:
    """A small valid PNG (a red square), so the evidence view shows a real image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xcc\x22\x22" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


HOSTILE = '<img src=x onerror="alert(1)"> & <script>alert(2)</script>'


def trace_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("trace.trace", "{}")
    return buffer.getvalue()


def seed(services: Services) -> dict[str, Any]:
    """Store the world; return the ids the tests look for."""
    add_issues(
        services,
        issue("1", 900, 40, title=HOSTILE, culprit="app/checkout.js in applyCoupon", thread_ts=None),
        issue("2", 300, 12, title="TypeError: total is undefined", thread_ts=None),
        issue(
            "3", 20, 2, title="Timeout talking to payments", wont_test_reason="vendor outage", thread_ts=None
        ),
    )
    root = services.chat.post(channel="C0TRIAGE", text="*TypeError* in checkout &lt;b&gt;", blocks=[])
    services.chat.post(channel="C0TRIAGE", text="Seen again after the release", blocks=[], thread_ts=root.ts)
    with transaction(services.sessions) as session:
        found = session.get(Issue, "1")
        assert found is not None
        found.thread_ts = root.ts
    add_tests(
        services,
        [
            {
                "issue_id": "2",
                "spec_id": "checkout-total",
                "state": "active",
                "verdict": "reproduced",
                "verified_url": "http://127.0.0.1:4321",
                "verdict_detail": "step 2 (click testid=pay): TypeError: total is undefined <!channel>",
                "verify_screenshot": str(
                    services.settings.data_dir / "evidence" / "run-1" / "checkout-total" / "screenshot.png"
                ),
                "pr_url": "https://github.com/acme/shop/pull/3",
            }
        ],
    )
    evidence = services.settings.data_dir / "evidence" / "run-1" / "checkout-total"
    evidence.mkdir(parents=True)
    (evidence / "screenshot.png").write_bytes(png())
    (evidence / "trace.zip").write_bytes(trace_zip())
    now = utcnow()
    with transaction(services.sessions) as session:
        gate = GateRun(
            repo="acme/shop",
            sha="0123456789abcdef",
            pr=42,
            preview_url="https://pr-42.preview.example",
            trigger="api",
            run_id="run-1",
            state="failed",
            created_at=now,
            finished_at=now,
        )
        session.add(gate)
        session.flush()
        assert gate.id is not None
        session.add(
            GateSpecResult(
                gate_id=gate.id,
                spec_id="checkout-total",
                issue_id="2",
                short_id="WEB-2",
                title="TypeError: total is undefined",
                outcome="failed",
                duration_ms=1234,
                failing_step="click #apply",
                message="TypeError: total is undefined",
                screenshot=str(evidence / "screenshot.png"),
                trace=str(evidence / "trace.zip"),
            )
        )
        session.add(FlagRollout(key="new-checkout", percent=25, state="rolling"))
        for days_ago, before, after in ((6, None, 5), (3, 5, 25)):
            session.add(
                FlagChange(
                    flag_key="new-checkout",
                    environment="production",
                    action="set",
                    from_percent=before,
                    to_percent=after,
                    to_state="rolling",
                    actor="U123",
                    at=now - timedelta(days=days_ago),
                )
            )
    return {"gate_id": gate.id}
