"""`python -m bench.verify`: verify drafts on a buggy and a fixed build and hold each verdict to the gate.

Eight Sentry events are drafted: six browser events about the late-error pages of
tests/gates/late_app.py (an error after a slow response, in a timer, in a rejected promise, after
a 500), the sample shop's coupon TypeError, and a server event of the shop's `POST /api/orders`
500. Each draft is verified against the buggy build and then the fixed one; the spec each
verification kept is then run by the gate on that same build. A verdict is true when "reproduced"
meets a gate that fails there and "not_reproduced" on the fixed build meets a gate that passes.
It prints one line per draft and build, the count of true verdicts and how many drafts reproduced,
with the wall time of each verification (the alternatives' search included).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from bench.gate import late_event
from tests.gates.late_app import ERRORS, serve_late_app
from triagebot.demo.sampleapp import serve_sample_app
from triagebot.drafts.derive import derive_spec
from triagebot.gates.runner import run_gate
from triagebot.integrations.sentry.event import SentryEvent, normalize_event
from triagebot.settings import Settings
from triagebot.verify.run import verify_draft

SAMPLE_EVENT = Path(__file__).resolve().parents[1] / "triagebot" / "demo" / "sampleapp" / "sentry_event.json"
ORDERS_EVENT: dict[str, Any] = {
    "event_id": "0" * 31 + "9",
    "platform": "python",
    "exception": {"values": [{"type": "KeyError", "value": "'discount'"}]},
    "request": {
        "url": "https://shop.example.com/api/orders",
        "method": "POST",
        "data": {"items": ["mug"]},
        "headers": {"Content-Type": "application/json"},
    },
    "transaction": "/api/orders",
}

Serve = Callable[[str], AbstractContextManager[str]]


@contextmanager
def late(build: str) -> Iterator[str]:
    with serve_late_app(build) as app:  # type: ignore[arg-type]
        yield app.url


@contextmanager
def shop(build: str) -> Iterator[str]:
    with serve_sample_app(build) as app:  # type: ignore[arg-type]
        yield app.url


def cases() -> list[tuple[str, SentryEvent, Serve]]:
    """The drafted events and the app each is about."""
    found: list[tuple[str, SentryEvent, Serve]] = [
        (kind, normalize_event(late_event(kind, n)), late) for n, kind in enumerate(ERRORS, 1)
    ]
    found.append(("shop-coupon", normalize_event(json.loads(SAMPLE_EVENT.read_text())), shop))
    found.append(("shop-orders-500", normalize_event(ORDERS_EVENT), shop))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.verify")
    parser.add_argument(
        "--budget", type=float, default=60.0, help="seconds for the alternatives (default 60)"
    )
    args = parser.parse_args(argv)
    data = Path(tempfile.mkdtemp(prefix="triagebot-bench-verify-"))
    settings = Settings(_env_file=None, preview_hosts=["127.0.0.1"], data_dir=data)  # type: ignore[call-arg]
    true = total = reproduced = 0
    for name, event, serve in cases():
        spec = derive_spec(event)
        for build in ("buggy", "fixed"):
            with serve(build) as url:
                clock = time.monotonic()
                outcome = verify_draft(
                    spec, base_url=url, settings=settings, event=event, budget_seconds=args.budget
                )
                seconds = time.monotonic() - clock
                gate = run_gate([outcome.spec], base_url=url, settings=settings).verdict
            result = outcome.verdict.result
            agrees = (result == "reproduced" and gate == "failed") or (
                result == "not_reproduced" and build == "fixed" and gate == "passed"
            )
            true += agrees
            total += 1
            reproduced += build == "buggy" and result == "reproduced"
            kept = f" (kept: {outcome.kept})" if outcome.kept else ""
            print(
                f"{name:16} {build:5} {result:14} gate {gate:6} {'true ' if agrees else 'FALSE'} "
                f"{seconds:5.1f} s  {outcome.verdict.detail[:90]}{kept}",
                flush=True,
            )
    drafts = total // 2
    print(f"{true}/{total} verdicts true; {reproduced}/{drafts} drafts reproduced on the buggy build")
    return 0 if true == total else 1


if __name__ == "__main__":
    sys.exit(main())
