"""`python -m bench.gate`: a 20-spec gate against the local sample app, parallel vs one at a time.

Every spec opens the cart, applies a coupon and calls `/api/slow?ms=N`, with N varied so specs take
different times. Each round measures, in the same run: each spec's own duration when run alone
(concurrency 1, the same browser), their sum and the longest, then the whole gate at the default
concurrency (settings), at the automatic one and at any `--concurrency` given. It prints the load
average too: on a shared machine the figures mean little without it. Each gate also reports the CPU
time the whole machine spent while it ran (from /proc/stat, so Chromium's many processes count):
divided by the cores, that is the shortest wall time the machine could have given it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from triagebot.drafts.spec import Spec, parse_spec
from triagebot.gates.models import GateResult
from triagebot.gates.runner import GateOptions, auto_concurrency, run_gate
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


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, every process)."""
    with open("/proc/stat") as stat:
        fields = [int(value) for value in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _gate(
    specs: list[Spec], url: str, settings: Settings, concurrency: int | None
) -> tuple[GateResult, float, float]:
    """Run one gate; return its result, its wall time and the machine's busy CPU seconds meanwhile."""
    options = replace(GateOptions.from_settings(settings, retries=0), concurrency=concurrency)
    busy, clock = busy_cpu_seconds(), time.perf_counter()
    result = run_gate(specs, base_url=url, settings=settings, options=options)
    elapsed, busy = time.perf_counter() - clock, busy_cpu_seconds() - busy
    if result.verdict != "passed":
        raise SystemExit(f"bench gate did not pass: {[r.failure for r in result.results if r.failure]}")
    return result, elapsed, busy


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def measure(url: str, settings: Settings, extra: list[int]) -> None:
    """One round: every spec alone (one at a time, one browser), then the whole gate at each setting."""
    specs = [bench_spec(i) for i in range(SPECS)]
    load_before = _load()
    alone, sequential_wall, sequential_cpu = _gate(specs, url, settings, 1)
    durations = [r.duration_ms / 1000 for r in alone.results]
    default = settings.gate_concurrency
    rows = [(f"gate, default concurrency ({default or 'auto'})", *_gate(specs, url, settings, default)[1:])]
    if default is not None:
        rows.append(
            (f"gate, auto concurrency ({auto_concurrency(SPECS)})", *_gate(specs, url, settings, None)[1:])
        )
    rows += [(f"gate, concurrency {n}", *_gate(specs, url, settings, n)[1:]) for n in extra]
    longest, total = max(durations), sum(durations)
    cores = os.cpu_count() or 1
    print(f"load average (1/5/15 min) before {load_before}, after {_load()}; {cores} cores")
    print(f"spec durations alone {min(durations):.2f}s to {longest:.2f}s\n")
    print(f"{'measure':<34}{'seconds':>9}{'x longest':>11}{'x sum':>8}{'CPU s':>8}{'CPU floor s':>13}")
    for name, seconds in (("longest single spec", longest), ("sum of single specs", total)):
        print(f"{name:<34}{seconds:>9.2f}{seconds / longest:>11.2f}{seconds / total:>8.2f}")
    for name, seconds, cpu in (("gate, concurrency 1", sequential_wall, sequential_cpu), *rows):
        print(
            f"{name:<34}{seconds:>9.2f}{seconds / longest:>11.2f}{seconds / total:>8.2f}"
            f"{cpu:>8.1f}{cpu / cores:>13.2f}"
        )
    print()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table per round."""
    parser = argparse.ArgumentParser(prog="python -m bench.gate", description=__doc__)
    parser.add_argument("--concurrency", type=int, nargs="*", default=[], help="more settings to measure")
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    with serve_sample_app("fixed") as app, tempfile.TemporaryDirectory() as data:
        settings = Settings(_env_file=None, preview_hosts=["127.0.0.1"], data_dir=Path(data))  # type: ignore[call-arg]
        _gate([bench_spec(0)], app.url, settings, 1)  # warm-up: first launch pays for disk caches
        print(f"{SPECS} specs against Tiny Shop\n")
        for number in range(1, args.rounds + 1):
            print(f"round {number}")
            measure(app.url, settings, args.concurrency)
    print("Gate wall times include launching Chromium once; a single spec's time does not.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
