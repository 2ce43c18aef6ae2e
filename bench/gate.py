"""`python -m bench.gate`: a 20-spec gate against the local sample app, parallel vs one at a time.

Every spec opens the cart, applies a coupon and calls `/api/slow?ms=N`, with N varied so specs take
different times. In the same run it measures the whole gate at the configured concurrency, each
spec's own duration when run alone (concurrency 1, the same browser), their sum, and the longest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from triagebot.drafts.spec import Spec, parse_spec
from triagebot.gates.models import GateResult
from triagebot.gates.runner import GateOptions, run_gate
from triagebot.sampleapp import serve_sample_app
from triagebot.settings import Settings

SPECS = 20
DELAYS_MS = [0, 150, 300, 600, 900, 1200, 1500, 2000, 2500, 3000]


def bench_spec(index: int) -> Spec:
    """A browser spec with its own server-side delay."""
    delay = DELAYS_MS[index % len(DELAYS_MS)]
    return parse_spec(
        {
            "version": 1,
            "id": f"bench-{index:02d}",
            "issue": {"id": str(1000 + index), "short_id": f"SHOP-{1000 + index}"},
            "start": "/cart",
            "steps": [
                {
                    "action": "fill",
                    "locator": {"strategy": "testid", "value": "coupon-code"},
                    "value": "SAVE10",
                },
                {"action": "click", "locator": {"strategy": "testid", "value": "apply-coupon"}},
                {"action": "request", "path": f"/api/slow?ms={delay}"},
            ],
            "assertions": {"text_absent": ["Unknown coupon"]},
        }
    )


def _gate(specs: list[Spec], url: str, settings: Settings, concurrency: int) -> tuple[GateResult, float]:
    options = GateOptions.from_settings(settings, concurrency=concurrency, retries=0)
    clock = time.perf_counter()
    result = run_gate(specs, base_url=url, settings=settings, options=options)
    elapsed = time.perf_counter() - clock
    if result.verdict != "passed":
        raise SystemExit(f"bench gate did not pass: {[r.failure for r in result.results if r.failure]}")
    return result, elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table."""
    parser = argparse.ArgumentParser(prog="python -m bench.gate", description=__doc__)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 4])
    args = parser.parse_args(argv)
    specs = [bench_spec(i) for i in range(SPECS)]
    with serve_sample_app("fixed") as app, tempfile.TemporaryDirectory() as data:
        settings = Settings(_env_file=None, preview_hosts=["127.0.0.1"], data_dir=Path(data))  # type: ignore[call-arg]
        _gate(specs[:1], app.url, settings, 1)  # warm-up: first launch pays for disk caches
        alone, sequential_wall = _gate(specs, app.url, settings, 1)
        durations = [r.duration_ms / 1000 for r in alone.results]
        rows = [(f"gate, concurrency {n}", _gate(specs, app.url, settings, n)[1]) for n in args.concurrency]
    longest, total = max(durations), sum(durations)
    print(f"{SPECS} specs against Tiny Shop; spec durations {min(durations):.2f}s to {longest:.2f}s\n")
    print(f"{'measure':<28}{'seconds':>9}{'x longest':>11}{'x sum':>8}")
    table = [
        ("longest single spec", longest),
        ("sum of single specs", total),
        ("gate, concurrency 1", sequential_wall),
        *rows,
    ]
    for name, seconds in table:
        print(f"{name:<28}{seconds:>9.2f}{seconds / longest:>11.2f}{seconds / total:>8.2f}")
    print("\nGate wall times include launching Chromium once (about a second).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
